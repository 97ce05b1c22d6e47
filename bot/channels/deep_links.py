"""Telegram deep links (t.me/<bot>?start=<payload>): what a payload opens, and the bot's name."""

from __future__ import annotations

from typing import Any

from bot.catalog import Catalog

# The payloads handlers answer (kept in step with the sections and deep_link prefixes).
SECTIONS = ("plans", "assess", "settings", "mydata", "help")
DEFINITION_PREFIX = "assess-"


def link_opens(catalog: Catalog, payload: str) -> bool:
    if payload in SECTIONS:
        return True
    if payload.startswith(DEFINITION_PREFIX):
        return catalog.definition(payload[len(DEFINITION_PREFIX) :]) is not None
    return False


async def bot_username(settings: Any) -> str | None:
    """Ask the Bot API who we are (needs the token)."""
    if not settings.telegram_bot_token:
        return None
    from telegram import Bot

    from bot.channels.aiohttp_request import AiohttpRequest

    async with Bot(
        settings.telegram_bot_token, base_url=settings.telegram_api_url, request=AiohttpRequest()
    ) as bot:
        return bot.username
