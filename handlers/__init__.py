"""What the bot says and does, one module per feature, each with its own router."""

from __future__ import annotations

from bot.core.router import Router


def build_root_router() -> Router:
    """All feature routers in one; the order does not matter (duplicates are refused)."""
    from handlers import (
        announce,
        ask,
        assessment,
        console,
        content,
        events,
        fallback,
        helper,
        inbox,
        link,
        menu,
        plans,
        profile,
        settings,
        staff,
        start,
        stats,
    )

    root = Router("root")
    for module in (
        start,
        profile,
        menu,
        plans,
        assessment,
        events,
        stats,
        settings,
        announce,
        staff,
        console,
        ask,
        inbox,
        helper,
        link,
        content,
        fallback,
    ):
        root.include(module.router)
    return root
