"""What the bot says when it cannot do what was asked: unknown commands and text, things it
cannot read, out-of-date buttons, and its own failures. Always a way forward, never a dead end."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.router import Router
from handlers.menu import show_menu
from handlers.unreadable import ask_staff_to_call_back

router = Router("fallback")


@router.fallback("unknown_command")
async def unknown_command(ctx: Context) -> None:
    await show_menu(ctx, intro=ctx.t("fallback.unknown_command", command=ctx.inbound.command[:32]))


@router.fallback("media")
async def media(ctx: Context) -> None:
    if ctx.inbound.media == "unsupported":  # content withheld by the platform, not a photo
        await ask_staff_to_call_back(ctx)
        return
    await show_menu(ctx, intro=ctx.t("fallback.media"))


@router.fallback("stale")
async def stale_button(ctx: Context) -> None:
    ctx.replies.clear()
    await show_menu(ctx, intro=ctx.t("fallback.stale"))


@router.fallback("error")
async def failure(ctx: Context) -> None:
    await show_menu(ctx, intro=ctx.t("fallback.error"))
