"""The privacy consent: asking for it, checking it before anything personal is kept, recording it.

Every feature that keeps personal data (a profile, a follow, a question) checks here first, so this
module imports no other handler: any of them may import it. The member's answer (the `Consent`
button) is handled by handlers/start.py, which goes on with the profile steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context


@action("consent")
@dataclass(frozen=True)
class Consent:
    agree: bool


async def ask_consent(ctx: Context, *, intro: str = "") -> None:
    """The privacy notice with agree / disagree, after `intro` (the welcome, on first contact)."""
    text = ctx.t("start.privacy")
    if intro:
        text = f"{intro}\n\n{text}"
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


async def record_consent(ctx: Context) -> None:
    """The member agreed: from now on their data may be kept (agreeing twice changes nothing)."""
    await ctx.consent()
