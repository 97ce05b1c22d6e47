"""First contact: the welcome and the language, the privacy notice and consent in that language,
then the profile steps.

`/start <address>` (a deep link such as t.me/bot?start=plans, or ?start=assess-<id> from a QR
poster) opens what the address names (see `handlers.menu.open_address`): at once for a member who
has agreed to the privacy notice, after consent and the profile steps for anyone else.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.router import Router
from bot.records import ACTIVE, STOPPED
from handlers.consent import Consent, record_consent, welcome
from handlers.menu import open_address, show_menu
from handlers.profile import ask_language, ask_role, before_consent, onboarding

router = Router("start")


@router.command("start", personal=True)
async def start(ctx: Context) -> None:
    payload = ctx.inbound.args.strip().lower()
    if not ctx.user.consented:
        # Whatever the link (a QR poster of an assessment...), the language and then consent
        # come first; the link is carried through the profile steps and opened after them.
        await ask_language(ctx, before_consent(payload), intro=welcome(ctx))
        return
    if payload and await open_address(ctx, payload):
        return
    if ctx.user.status == STOPPED:
        await ctx.update_user(status=ACTIVE)
        await show_menu(ctx, intro=ctx.t("settings.announcements_back_on"))
        return
    await show_menu(ctx, intro=ctx.t("start.welcome_back", name=ctx.user.display_name))
    for offer in ctx.router.resume_offers:
        await offer(ctx)


@router.action(Consent, personal=True)
async def consent(ctx: Context, act: Consent) -> None:
    if not act.agree:
        await show_menu(ctx, intro=ctx.t("start.declined"), edit=True)
        return
    if act.locale in ctx.services.catalog.campaign.locales:
        await ctx.update_user(locale=act.locale)  # chosen on the first screen: kept from now
        await record_consent(ctx)
        await ask_role(ctx, onboarding(act.then), intro=ctx.t("start.thanks"))
        return
    await record_consent(ctx)
    await ask_language(ctx, onboarding(act.then), intro=ctx.t("start.thanks"))
