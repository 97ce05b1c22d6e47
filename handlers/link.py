"""One member across channels: /link gives a one-time code in one app; sending `/link <code>` from
the other app makes the two accounts one person (profile, consent, self-assessments, history, one
copy of each announcement). The same view shows the linked accounts, lets the member choose where
announcements go and let an account go."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.router import Router
from bot.services.linking import CODE_TTL, Linked, Refusal
from handlers.consent import needs_consent
from handlers.menu import home_button

router = Router("link")
LAST_USED = "-"  # the preference "the channel I last used"


@action("lnk")
@dataclass(frozen=True)
class LinkChoice:
    what: str  # prefer | unlink
    channel: str  # a channel name, or LAST_USED with prefer


def channel_label(ctx: Context, channel: str) -> str:
    return str(ctx.t(f"zalobot.channel.{channel}"))


async def linked_line(ctx: Context) -> str:
    """For /mydata: the member's other accounts, or "" when there are none."""
    accounts = await ctx.services.linking.accounts(ctx.user)
    others = [channel_label(ctx, a.channel) for a in accounts if not a.current]
    return str(ctx.t("zalobot.link.mydata", channels=", ".join(others))) if others else ""


@router.command("link", personal=True)
async def link(ctx: Context) -> None:
    code = ctx.inbound.args.strip()
    if code:  # typed in the other app: the person it joins has agreed already
        await _redeem(ctx, code)
        return
    if await needs_consent(ctx):
        return
    issued = await ctx.services.linking.issue(ctx.user)
    if isinstance(issued, Refusal):
        await show_links(ctx, intro=ctx.t("zalobot.link.too_many_codes"))
        return
    spaced = f"{issued[:4]} {issued[4:]}"
    minutes = int(CODE_TTL.total_seconds() // 60)
    await show_links(ctx, intro=ctx.t("zalobot.link.code", code=spaced, minutes=minutes))


async def _redeem(ctx: Context, code: str) -> None:
    result = await ctx.services.linking.redeem(code, ctx.user)
    if not isinstance(result, Linked):
        ctx.reply(ctx.t(f"zalobot.link.refused.{result}"), [[home_button(ctx)]])
        return
    ctx.user = result.person  # the turn goes on as that person (their session is saved)
    await show_links(ctx, intro=ctx.t("zalobot.link.done"))


async def show_links(ctx: Context, *, intro: str = "") -> None:
    accounts = await ctx.services.linking.accounts(ctx.user)
    others = [a for a in accounts if not a.current]
    preferred = ctx.user.preferred_channel
    parts = [intro] if intro else []
    if others:
        parts.append(
            ctx.t(
                "zalobot.link.view",
                channels=", ".join(channel_label(ctx, a.channel) for a in accounts),
                preferred=channel_label(ctx, preferred)
                if preferred
                else ctx.t("zalobot.link.last_used"),
            )
        )
    else:
        parts.append(ctx.t("zalobot.link.none"))
    rows = []
    for account in accounts if others else []:
        if account.channel != preferred:
            label = channel_label(ctx, account.channel)
            prefer = LinkChoice("prefer", account.channel)
            rows.append([ctx.button("zalobot.link.prefer", prefer, channel=label)])
    if others and preferred:
        rows.append([ctx.button("zalobot.link.prefer_last", LinkChoice("prefer", LAST_USED))])
    for account in others:
        label = channel_label(ctx, account.channel)
        unlink = LinkChoice("unlink", account.channel)
        rows.append([ctx.button("zalobot.link.unlink", unlink, channel=label)])
    rows.append([home_button(ctx)])
    ctx.reply("\n\n".join(str(p) for p in parts), rows, edit=ctx.pressed)


@router.action(LinkChoice, personal=True)
async def link_choice(ctx: Context, act: LinkChoice) -> None:
    if not ctx.user.stored:
        raise StaleButton("linking needs a stored member")
    linking = ctx.services.linking
    channels = {a.channel for a in await linking.accounts(ctx.user)}
    if act.what == "prefer" and (act.channel in channels or act.channel == LAST_USED):
        channel = None if act.channel == LAST_USED else act.channel
        ctx.user = await linking.prefer(ctx.user, channel)
        await show_links(ctx, intro=ctx.t("zalobot.link.saved"))
    elif act.what == "unlink" and await linking.unlink(ctx.user, act.channel):
        ctx.user = await ctx.services.members.get(ctx.user.id) or ctx.user
        label = channel_label(ctx, act.channel)
        await show_links(ctx, intro=ctx.t("zalobot.link.unlinked", channel=label))
    else:
        raise StaleButton(f"no account to {act.what} on {act.channel!r}")
