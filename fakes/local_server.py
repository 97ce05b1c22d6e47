"""What the fake servers share: an aiohttp server on 127.0.0.1 with a port the OS picks, started
and stopped (or used as ``async with``); each fake adds its routes and its change notification."""

from __future__ import annotations

import asyncio
from typing import Self

from aiohttp import web


class LocalServer:
    client_max_size = 16 * 1024 * 1024  # the largest request body accepted (uploads)

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _notify(self) -> None:
        """Wake whatever waits on the server (long polls, delayed answers)."""

    async def start(self) -> None:
        """Start listening on 127.0.0.1 with an OS-chosen port (see :attr:`port`)."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        app = web.Application(client_max_size=self.client_max_size)
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._stopping = asyncio.Event()
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop the server; waiting long polls return and delayed answers are sent at once."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        self._notify()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
