"""/console: a staff member asks for a one-time link that signs them in to the web console.

Only staff reach it (the dispatcher refuses anyone else, who gets the usual answer to an unknown
command), and only in a private chat: a sign-in link posted in a group would sign in whoever
opened it first.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.roles import OFFICER
from bot.core.router import Router
from bot.services.console import LOGIN_MINUTES

router = Router("console")


@router.command("console", role=OFFICER, personal=True)
async def console(ctx: Context) -> None:
    service = ctx.services.console
    if service.base_url is None:
        ctx.reply(ctx.t("console.chat.no_url"))
        return
    link = await service.login_link(ctx.user)
    ctx.reply(ctx.t("console.chat.link", link=link, minutes=LOGIN_MINUTES))
