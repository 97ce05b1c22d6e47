"""The one HTTP server (aiohttp): Telegram webhook, /healthz and /metrics.

The Telegram webhook follows python-telegram-bot's documented custom-webhook pattern: the server
checks `X-Telegram-Bot-Api-Secret-Token` (403 otherwise, nothing processed) and puts the update on
the Application's update queue. Health says whether the database answers, the scheduler runs and
how much the outbox holds; it answers 503 when something is wrong, so a supervisor can act.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.web.metrics import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

WebhookHandler = Callable[[dict[str, Any]], Awaitable[None]]
MAX_UPDATE_BYTES = 1_000_000


class WebServer:
    def __init__(self, app: App, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._webhooks: dict[str, tuple[str, WebhookHandler]] = {}
        self.web = web.Application(client_max_size=MAX_UPDATE_BYTES)
        self.web.router.add_get("/healthz", self.healthz)
        self.web.router.add_get("/metrics", self.metrics)

    def add_webhook(self, path: str, secret: str, handler: WebhookHandler) -> None:
        """Accept POSTs at `path` carrying `secret` in the Telegram secret header."""
        self._webhooks[path] = (secret, handler)
        self.web.router.add_post(path, self._webhook)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the real port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("http: listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _webhook(self, request: web.Request) -> web.Response:
        secret, handler = self._webhooks[request.path]
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("http: webhook call with a wrong or missing secret refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(data, dict):
            return web.Response(status=400, text="not an update")
        await handler(data)
        return web.Response(text="ok")

    async def healthz(self, _: web.Request) -> web.Response:
        report = await self.app.health()
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def metrics(self, _: web.Request) -> web.Response:
        body = await self.app.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
