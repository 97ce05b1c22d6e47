"""Pictures served by the bot's own HTTP server, for platforms that take photos by URL only.

Zalo Bot Platform's sendPhoto accepts a URL, no upload; Zalo may fetch that URL more than once
(a one-shot URL rendered black for another project), so each picture stays for a day under a
random, unguessable path at PUBLIC_BASE_URL. Pictures are files beside the database, so a restart
within the day does not break a URL already sent; older ones are removed as new ones come.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bot.core.channel import Route

log = logging.getLogger(__name__)

PATH = "/pictures"
KEEP_FOR_S = 24 * 3600.0
_NAME = re.compile(r"[A-Za-z0-9_-]{32,64}\.png")


class PictureShelf:
    """Publishes PNG pictures at `<base_url>/pictures/<random>.png` for `keep_for` seconds."""

    def __init__(
        self,
        folder: Path,
        base_url: str | None,
        *,
        keep_for: float = KEEP_FOR_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder
        self.base_url = base_url
        self.keep_for = keep_for
        self._clock = clock

    async def publish(self, data: bytes, name: str) -> str | None:
        if self.base_url is None:
            return None
        file = f"{secrets.token_urlsafe(32)}.png"  # 256 random bits: not guessable
        await asyncio.to_thread(self._write, file, data)
        return f"{self.base_url}{PATH}/{file}"

    def _write(self, file: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._prune()
        target = self.folder / file
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)

    def _prune(self) -> None:
        oldest = self._clock() - self.keep_for
        for old in self.folder.glob("*.png"):
            try:
                if old.stat().st_mtime < oldest:
                    old.unlink()
            except FileNotFoundError:
                pass  # another process pruned it first

    def route(self) -> Route:
        return Route("GET", PATH + "/{name}", self.serve)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "")
        target = self.folder / name
        if not _NAME.fullmatch(name) or not target.is_file():
            raise web.HTTPNotFound()
        if target.stat().st_mtime < self._clock() - self.keep_for:
            raise web.HTTPNotFound()  # past its day, not yet pruned
        return web.FileResponse(target, headers={"Content-Type": "image/png"})
