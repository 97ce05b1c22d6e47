"""Terminal chat: the same conversations as Telegram, for trying content without a bot token.

Buttons are listed with numbers and chosen by typing the number; commands and free text are typed
as in a messenger. It reads stdin line by line, so a conversation can be replayed from a pipe:
`printf '/start\\n1\\n' | khuyenhoc chat`. Pictures the bot sends (charts) are saved into a folder
given at construction and their path printed, so they can be opened.
"""

from __future__ import annotations

import asyncio
import html
import os
import sys
from pathlib import Path
from typing import TextIO

from bot.core.channel import Route, Sent
from bot.core.messages import Button, Inbound, Kind, Reply
from bot.core.router import Dispatcher
from bot.core.text import plain, split_text

CHANNEL = "console"
DEFAULT_USER = "khach"  # no display name for the default guest: the bot says "Anh/Chị"
WIDTH_LIMIT = 4096  # split like Telegram would, so long texts read the same


def parse_command(text: str) -> tuple[str, str]:
    """ "/start plans" -> ("start", "plans")."""
    head, _, rest = text[1:].partition(" ")
    return head.split("@", 1)[0].lower(), rest.strip()


class ConsoleChannel:
    """One person at the terminal. `run` reads their lines until the end of input."""

    name = CHANNEL

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        user: str = DEFAULT_USER,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        pictures: Path | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.pictures = pictures  # a folder for the pictures the bot sends, made when needed
        self.user = user
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.buttons: list[Button] = []  # the numbered buttons of the last answer
        self.sender = ConsoleSender(self)
        self._turn = 0

    def routes(self) -> list[Route]:
        return []

    def health(self) -> dict[str, bool]:
        return {}

    def counters(self) -> dict[str, int]:
        return {}

    async def start(self) -> None:
        """Nothing to connect: the terminal is there."""

    async def stop(self) -> None:
        """Nothing in flight: each line is answered before the next is read."""

    async def close(self) -> None:
        """Nothing to free."""

    def inbound_for(self, line: str) -> Inbound:
        self._turn += 1
        base = {
            "channel": CHANNEL,
            "user_id": self.user,
            "chat_id": self.user,
            "display_name": "" if self.user == DEFAULT_USER else self.user,
            "update_id": str(self._turn),
        }
        if line.startswith("/") and len(line) > 1:
            command, args = parse_command(line)
            return Inbound(kind=Kind.COMMAND, command=command, text=args, **base)
        return Inbound(kind=Kind.TEXT, text=line, html=html.escape(line, quote=False), **base)

    async def send(self, line: str) -> list[Reply]:
        """Handle one typed line and print the answer; returns the replies (for tests).

        A typed number picks a button: the dispatcher maps it (bot.core.choices).
        """
        inbound = self.inbound_for(line)
        replies = await self.dispatcher.handle(inbound)
        self.render(replies)
        if replies:
            choices = [[b.text, b.action] for b in self.buttons if b.action]
            await self.dispatcher.remember_choices(inbound, choices)
        return replies

    def render(self, replies: list[Reply]) -> None:
        numbered: list[Button] = []
        for reply in replies:
            if reply.image is not None:
                self._print(f"[ảnh / image: {self._keep(reply.image, reply.image_name)}]")
            if reply.photo_id:
                self._print(f"[ảnh / image: {reply.photo_id}]")
            if reply.document is not None:
                self._print(f"[tệp / file: {reply.document_name}, {len(reply.document)} bytes]")
            for chunk in split_text(plain(reply.text), WIDTH_LIMIT) if reply.text else []:
                self._print(chunk)
            for row in reply.buttons:
                cells = []
                for button in row:
                    if button.url:
                        cells.append(f"[{button.text}: {button.url}]")
                    else:
                        numbered.append(button)
                        cells.append(f"[{len(numbered)}] {button.text}")
                self._print("   ".join(cells))
            self._print("")
        if replies:
            self.buttons = numbered

    def _keep(self, image: bytes, name: str | None) -> str:
        """Save a picture the bot sent into the pictures folder; its path (or, without a
        folder, its name and size) for the person to open. Numbered, so none replaces another;
        the folder and files are the user's alone (a chart holds members' figures)."""
        if self.pictures is None:
            return f"{name}, {len(image)} bytes"
        self.pictures.mkdir(mode=0o700, parents=True, exist_ok=True)
        stem, dot, suffix = (name or "image.png").rpartition(".")
        number = 1 + sum(1 for _ in self.pictures.glob(f"*-{stem}.{suffix}"))
        path = self.pictures / f"{number:03d}-{stem}{dot}{suffix}"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(image)
        return str(path.resolve())

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def run(self) -> None:
        """Read lines until end of input."""
        interactive = self.stdin.isatty()
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if not interactive:
                self._print(f"> {line}")
            await self.send(line)


class ConsoleSender:
    """Announcements to the terminal's member are printed in the conversation."""

    channel = CHANNEL
    reach_window = None

    def __init__(self, console: ConsoleChannel) -> None:
        self._console = console
        self._count = 0

    async def deliver(
        self, chat_id: str, html: str, *, photo: str | bytes | None = None, paid: bool = False
    ) -> Sent:
        self._count += 1
        if chat_id == self._console.user:
            self._console.render(
                [Reply(text=html, photo_id=photo if isinstance(photo, str) else None)]
            )
        return Sent(f"console-{self._count}")

    async def probe(self) -> None:
        """The terminal is always there."""

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        if chat_id == self._console.user:
            self._console.render([Reply(text=html)])
