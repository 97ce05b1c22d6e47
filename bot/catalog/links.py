"""What a deep link's start payload (t.me/<bot>?start=<payload>, a QR poster) opens in this
content: a menu section, a self-assessment (`assess-<id>`) or a plan (`plan-<id>`). The handlers
answer these payloads (`handlers/menu.open_address`); `khuyenhoc qr` checks a poster's link here
before printing it."""

from __future__ import annotations

from bot.catalog import Catalog

SECTIONS = ("plans", "assess", "settings", "mydata", "help")
DEFINITION_PREFIX = "assess-"
PLAN_PREFIX = "plan-"


def link_opens(catalog: Catalog, payload: str) -> bool:
    if payload in SECTIONS:
        return True
    if payload.startswith(DEFINITION_PREFIX):
        return catalog.definition(payload.removeprefix(DEFINITION_PREFIX)) is not None
    if payload.startswith(PLAN_PREFIX):
        return catalog.plan(payload.removeprefix(PLAN_PREFIX)) is not None
    return False
