"""The privacy consent: asking for it, checking it before anything personal is kept, recording it.

The first screen (/start) asks the language, each name in its own language, before anything
else; the privacy notice then comes in that language (see handlers/profile.py, flow "c").
Every way in (a command, a deep link or QR poster, free text, a first Zalo message) may reach a
feature that keeps personal data (a profile, a self-assessment, a follow, a question); each such
feature checks here first, so this module imports no other handler: any of them may import it.
Nothing of a person is stored before they agree. The `Consent` button carries where they were
going (`then`, an address such as `assess-gia-dinh-hoc-tap`): handlers/start.py handles the answer,
goes on with the profile steps and then to that address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context

# An address the profile steps can carry to the end: each step's button packs it beside its own
# fields within Telegram's 64 bytes, so at most 31 ("assess-" + a 24-byte content id). A longer
# or odd one is dropped: the member lands on the main menu instead.
ADDRESS = re.compile(r"[a-z0-9_-]{1,31}")
NOT_CHOSEN = "-"  # no language chosen before consent (a packed value cannot be empty)


@action("consent")
@dataclass(frozen=True)
class Consent:
    agree: bool
    locale: str = NOT_CHOSEN  # the language chosen on the first screen
    then: str = ""  # the address to open once the profile steps are done ("" : the menu)


def welcome(ctx: Context) -> str:
    """The greeting of someone the bot does not know yet."""
    campaign = ctx.services.catalog.campaign
    i18n = ctx.services.i18n
    return ctx.t(
        "start.welcome",
        name=ctx.user.display_name or ctx.t("start.friend"),
        association=i18n.text(ctx.locale, campaign.association),
        city=i18n.text(ctx.locale, campaign.city),
    )


async def ask_consent(
    ctx: Context, *, intro: str = "", then: str = "", locale: str = ""
) -> None:
    """The privacy notice with agree / disagree, after `intro`; agreeing goes on to `then`.
    `locale`: the language the member chose just before (kept with them once they agree)."""
    text = ctx.t("start.privacy")
    if intro:
        text = f"{intro}\n\n{text}"
    agree = Consent(True, locale or NOT_CHOSEN, then if ADDRESS.fullmatch(then) else "")
    buttons = [[ctx.button("buttons.agree", agree), ctx.button("buttons.disagree", Consent(False))]]
    ctx.reply(text, buttons, edit=ctx.pressed)


async def needs_consent(ctx: Context, *, then: str = "") -> bool:
    """Personal data (a profile, a self-assessment, a question, a reminder) needs consent: ask
    for it if missing (greeting someone new first), to go on to `then` once given. In a group
    the answer is to write privately: what is kept of a member is never shown or asked there."""
    if not ctx.inbound.private:
        ctx.reply(ctx.t("privacy.private_only"))
        return True
    if ctx.user.consented:
        return False
    await ask_consent(ctx, intro="" if ctx.user.stored else welcome(ctx), then=then)
    return True


async def record_consent(ctx: Context) -> None:
    """The member agreed: from now on their data may be kept (agreeing twice changes nothing)."""
    await ctx.consent()
