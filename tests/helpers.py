"""A member talking to the bot through the channel-neutral core, as a person would."""

from __future__ import annotations

import asyncio
import sys
from html import escape
from typing import Any

from bot.core.messages import Button, Inbound, Kind, Reply
from bot.core.text import plain


class Member:
    """Types commands and text, presses buttons by their label, and remembers what it saw."""

    def __init__(
        self,
        app,
        user_id: str = "1001",
        name: str = "Lan",
        *,
        channel: str = "telegram",
        language_code: str | None = "vi",
    ) -> None:
        self.app = app
        self.user_id = user_id
        self.name = name
        self.channel = channel
        self.language_code = language_code
        self.replies: list[Reply] = []
        self._turn = 0
        self.chat_id = user_id  # the chat the member writes in: their own, or a group's
        self.private = True

    def in_group(self, chat_id: str = "-100777") -> Member:
        """From now on the member writes in a group chat the bot is in."""
        self.chat_id, self.private = chat_id, False
        return self

    def in_private(self) -> Member:
        self.chat_id, self.private = self.user_id, True
        return self

    def _inbound(self, kind: Kind, **fields) -> Inbound:
        self._turn += 1
        return Inbound(
            self.channel,
            self.user_id,
            kind,
            chat_id=self.chat_id,
            private=self.private,
            display_name=self.name,
            language_code=self.language_code,
            update_id=str(self._turn),
            **fields,
        )

    def typed(self, text: str) -> Inbound:
        """The update of typing `text`, not handled yet: for a test that hands it to the
        instance of its choosing (`app.dispatcher.handle`), maybe while another is handled."""
        return self._inbound(Kind.TEXT, text=text, html=escape(text, quote=False))

    async def _handle(self, inbound: Inbound) -> list[Reply]:
        self.replies = await self.app.dispatcher.handle(inbound)
        return self.replies

    async def command(self, text: str) -> list[Reply]:
        name, _, args = text.lstrip("/").partition(" ")
        return await self._handle(self._inbound(Kind.COMMAND, command=name.lower(), text=args))

    async def say(self, text: str, *, html: str | None = None) -> list[Reply]:
        """Type a message; `html` is its formatting as Telegram would pass it."""
        formatted = html if html is not None else escape(text, quote=False)
        return await self._handle(self._inbound(Kind.TEXT, text=text, html=formatted))

    async def send_media(self, media: str = "photo") -> list[Reply]:
        return await self._handle(self._inbound(Kind.MEDIA, media=media))

    async def press_data(self, data: str) -> list[Reply]:
        return await self._handle(self._inbound(Kind.ACTION, text=data, message_id="1"))

    async def press(self, label: str) -> list[Reply]:
        """Press the button labelled `label` under the last answer."""
        return await self.press_data(self.button(label).action or "")

    def button(self, label: str) -> Button:
        for button in self.buttons():
            if plain(button.text) == label:
                return button
        raise AssertionError(f"no button {label!r}; buttons: {self.labels()}")

    def buttons(self) -> list[Button]:
        return [b for reply in self.replies for row in reply.buttons for b in row]

    def labels(self) -> list[str]:
        return [plain(b.text) for b in self.buttons()]

    @property
    def text(self) -> str:
        """Everything the last answer said, markup stripped."""
        return "\n".join(plain(r.text) for r in self.replies)

    async def user(self):
        return await self.app.store.users.find(self.channel, self.user_id)


async def khuyenhoc(
    *args: str,
    env: dict[str, str],
    cwd,
    stdin: Any = None,
    stdout: int = asyncio.subprocess.DEVNULL,
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` as its own process, as an operator or systemd starts it; stderr is
    piped for the test to read. stdout only when wanted (`stdout=PIPE`); `stdin` is what the
    command reads (a pipe, a file, or a terminal: `pty.openpty()`), else the test's own."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
    )
