"""The one HTTP server (aiohttp): the channels' webhooks, /healthz, /metrics and the staff
console's pages (bot/web/console).

Channels declare their webhook routes (`bot.core.channel.Route`) and check their own secrets;
this server only mounts them. /healthz says whether the database answers, the scheduler runs,
each channel's checks hold and how much the outbox holds; it answers 503 when something is
wrong, so a supervisor can act.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from bot.core.channel import Route
from bot.web.metrics import CONTENT_TYPE_LATEST, Metrics

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1_000_000
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


class WebServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        metrics: Metrics,
        health: HealthCheck,
        routes: Iterable[Route] = (),
        pages: Iterable[Route] = (),
    ) -> None:
        self.host = host
        self.port = port
        self._metrics = metrics
        self._health = health
        self._runner: web.AppRunner | None = None
        self.web = web.Application(client_max_size=MAX_UPDATE_BYTES)
        self.web.router.add_get("/healthz", self.healthz)
        self.web.router.add_get("/metrics", self.metrics)
        self.routes = list(routes)
        for route in self.routes:
            self.web.router.add_route(route.method, route.path, route.handler)
        for page in pages:  # not in `routes`: the server may run without them (no webhook)
            self.web.router.add_route(page.method, page.path, page.handler)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(site._server, "sockets", None) or []  # the real port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("http: listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, _: web.Request) -> web.Response:
        report = await self._health()
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def metrics(self, _: web.Request) -> web.Response:
        body = await self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
