"""First contact: the welcome, the privacy notice and consent, then the profile steps.

`/start <section>` (a deep link such as t.me/bot?start=plans) opens that section directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context
from bot.core.router import Router
from bot.records import ACTIVE, STOPPED
from handlers.menu import show_menu
from handlers.profile import ONBOARDING, ask_language

router = Router("start")


@action("consent")
@dataclass(frozen=True)
class Consent:
    agree: bool


def _welcome(ctx: Context) -> str:
    campaign = ctx.services.catalog.campaign
    i18n = ctx.services.i18n
    return ctx.t(
        "start.welcome",
        name=ctx.user.display_name or ctx.t("start.friend"),
        association=i18n.text(ctx.locale, campaign.association),
        city=i18n.text(ctx.locale, campaign.city),
    )


async def ask_consent(ctx: Context, *, with_welcome: bool = False) -> None:
    text = ctx.t("start.privacy")
    if with_welcome:
        text = f"{_welcome(ctx)}\n\n{text}"
    buttons = [
        [ctx.button("buttons.agree", Consent(True)), ctx.button("buttons.disagree", Consent(False))]
    ]
    ctx.reply(text, buttons, edit=ctx.pressed)


async def needs_consent(ctx: Context) -> bool:
    """Personal data (a profile, a question, a reminder) needs consent: ask for it if missing."""
    if ctx.user.consented:
        return False
    await ask_consent(ctx)
    return True


async def finish_onboarding(ctx: Context, *, intro: str = "") -> None:
    done = ctx.t("start.done")
    await show_menu(ctx, intro=f"{intro}\n\n{done}" if intro else done, edit=ctx.pressed)


@router.command("start")
async def start(ctx: Context) -> None:
    payload = ctx.inbound.args.strip().lower()
    if await open_deep_link(ctx, payload):
        return
    if not ctx.user.consented:
        await ask_consent(ctx, with_welcome=True)
        return
    if ctx.user.status == STOPPED:
        await ctx.update_user(status=ACTIVE)
        await show_menu(ctx, intro=ctx.t("settings.announcements_back_on"))
        return
    await show_menu(ctx, intro=ctx.t("start.welcome_back", name=ctx.user.display_name))
    for offer in ctx.router.resume_offers:
        await offer(ctx)


async def open_deep_link(ctx: Context, payload: str) -> bool:
    """Open what a t.me/<bot>?start=<payload> link points at; False when it points nowhere."""
    if not payload:
        return False
    section = ctx.sections.get(payload)
    if section is not None:
        ctx.clear_state()
        await section.open(ctx)
        return True
    for prefix, handler in ctx.router.deep_links.items():
        if payload.startswith(prefix) and len(payload) > len(prefix):
            ctx.clear_state()
            await handler(ctx, payload[len(prefix) :])
            return bool(ctx.replies)
    return False


@router.action(Consent)
async def consent(ctx: Context, act: Consent) -> None:
    if not act.agree:
        await show_menu(ctx, intro=ctx.t("start.declined"), edit=True)
        return
    if not ctx.user.consented:
        ctx.user = await ctx.services.members.consent(ctx.user.id)
    await ask_language(ctx, ONBOARDING, intro=ctx.t("start.thanks"))
