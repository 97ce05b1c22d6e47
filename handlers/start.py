"""First contact: the welcome, the privacy notice and consent, then the profile steps.

`/start <address>` (a deep link such as t.me/bot?start=plans, or ?start=plan-<id>) opens
what the address names directly (see `handlers.menu.open_address`).
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.router import Router
from bot.records import ACTIVE, STOPPED
from handlers.consent import Consent, ask_consent, record_consent
from handlers.menu import open_address, show_menu
from handlers.profile import ONBOARDING, ask_language

router = Router("start")


def _welcome(ctx: Context) -> str:
    campaign = ctx.services.catalog.campaign
    i18n = ctx.services.i18n
    return ctx.t(
        "start.welcome",
        name=ctx.user.display_name or ctx.t("start.friend"),
        association=i18n.text(ctx.locale, campaign.association),
        city=i18n.text(ctx.locale, campaign.city),
    )


@router.command("start")
async def start(ctx: Context) -> None:
    payload = ctx.inbound.args.strip().lower()
    if payload and await open_address(ctx, payload):
        return
    if not ctx.user.consented:
        await ask_consent(ctx, intro=_welcome(ctx))
        return
    if ctx.user.status == STOPPED:
        await ctx.update_user(status=ACTIVE)
        await show_menu(ctx, intro=ctx.t("settings.announcements_back_on"))
        return
    await show_menu(ctx, intro=ctx.t("start.welcome_back", name=ctx.user.display_name))
    for offer in ctx.router.resume_offers:
        await offer(ctx)


@router.action(Consent)
async def consent(ctx: Context, act: Consent) -> None:
    if not act.agree:
        await show_menu(ctx, intro=ctx.t("start.declined"), edit=True)
        return
    await record_consent(ctx)
    await ask_language(ctx, ONBOARDING, intro=ctx.t("start.thanks"))
