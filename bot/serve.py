"""`khuyenhoc run`: every configured channel in one process, sharing the store, the scheduler and
the outbox, behind one HTTP server; a graceful stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from bot.config import Settings

log = logging.getLogger(__name__)


def run(settings: Settings, *, webhook: bool = False) -> int:
    from bot.services.maintenance import DatabaseInUse, RunLock

    try:
        with RunLock(settings.database_path):
            return asyncio.run(serve(settings, webhook=webhook or bool(settings.webhook_url)))
    except DatabaseInUse as exc:
        log.error("%s: another `khuyenhoc run` is using it", exc)
        return 1


async def serve(settings: Settings, *, webhook: bool, stop: asyncio.Event | None = None) -> int:
    from bot.app import App
    from bot.catalog import ContentInvalid
    from bot.web.server import WebServer

    if webhook and not settings.webhook_url:
        log.error("--webhook needs WEBHOOK_URL (the https:// address Telegram should call)")
        return 2
    try:
        app = await App.create(settings)
    except ContentInvalid as exc:
        log.error("%s", exc)
        return 1
    server = WebServer(app, settings.http_host, settings.http_port)
    telegram: Any = None
    zalo: Any = None
    senders: list[Any] = []
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel.build(
            app.dispatcher, settings.telegram_bot_token, settings.telegram_api_url
        )
        senders.append(telegram.sender)
    if settings.zalo_enabled:
        from bot.channels.zalo import ZaloChannel, ZaloClient

        zalo = ZaloChannel(app.dispatcher, ZaloClient(settings, app.store.meta), settings)
        server.web.router.add_post(settings.zalo_webhook_path, zalo.webhook)
        senders.append(zalo.sender)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        secret = None
        if telegram is not None and webhook:
            secret = settings.webhook_secret or await app.store.meta.secret("webhook_secret")
            server.add_webhook(urlsplit(settings.webhook_url).path or "/", secret, telegram.feed)
        try:
            await server.start()
        except OSError as exc:
            if webhook or zalo is not None:
                raise  # the webhooks need the server
            log.error(
                "http: cannot listen on %s:%s (%s); running without /healthz",
                settings.http_host,
                settings.http_port,
                exc,
            )
        if zalo is not None:
            await zalo.client.start()
        if telegram is not None:
            if webhook:
                await telegram.start_webhook(settings.webhook_url, secret)
            else:
                await telegram.start()  # polling; removes a webhook left from webhook mode
                # Polling ends for good when Telegram rejects the token: /healthz must say so.
                app.health_checks["telegram_polling"] = lambda: telegram.poller.running
        await app.start_background(senders)
        if telegram is not None:
            telegram.pacer = app.pacer
        await stop.wait()
        log.info("stopping: finishing in-flight work")
    finally:
        if telegram is not None:
            await telegram.stop()  # no new updates; in-flight ones finish
        if zalo is not None:
            await zalo.drain()
        await app.stop_background()  # in-flight deliveries finish and are written down
        await server.stop()
        if telegram is not None:
            await telegram.shutdown()
        if zalo is not None:
            await zalo.client.close()
        await app.close()
    log.info("stopped")
    return 0
