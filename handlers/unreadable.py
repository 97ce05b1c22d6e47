"""Messages the platform would not let the bot read: Zalo withholds the content of some users'
messages (protected users such as children, people with disabilities) and sends only that
something came. Such a member is not ignored: they are told the association will call back, and a
staff ticket is opened, filed under their area when it is known."""

from __future__ import annotations

from bot.core.context import Context


async def ask_staff_to_call_back(ctx: Context) -> None:
    i18n = ctx.services.i18n
    note = str(i18n.t(i18n.default, "zalobot.unsupported_ticket"))  # staff read the default
    ctx.user = await ctx.services.inbox.call_back(ctx.user, note)
    ctx.reply(ctx.t("zalobot.unsupported"))
