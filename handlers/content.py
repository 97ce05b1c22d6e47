"""/content: staff edit the bot's words in Excel from the chat. The bot sends the workbook of the
content being served; an edited one sent back is checked and kept as a draft (the problems, or
what changes, are the answer); an admin publishes it with a button, and every member gets the new
words at once, without a restart."""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, OutOfScope
from bot.core.messages import Kind
from bot.core.roles import ADMIN, EDITOR
from bot.core.router import Router
from bot.services.content import ContentError, change_lines
from handlers.menu import home_button

router = Router("content")
UPLOAD = "content:upload"
MAX_LINES = 15  # problems listed in one message (a phone screen, and Telegram's 4096 characters)
MAX_UPLOAD = 5 * 1024 * 1024


@action("cpub")
@dataclass(frozen=True)
class Publish:
    draft: str  # when the draft was made: a button for an older draft publishes nothing


@action("cprv")
@dataclass(frozen=True)
class Preview:
    draft: str


def _city_only(ctx: Context) -> None:
    """The words are the whole city's: a branch's staff (scoped to some areas) do not edit them."""
    if ctx.scope.branch:
        raise OutOfScope("the content is the city's")


@router.command("content", role=EDITOR)
async def content(ctx: Context) -> None:
    _city_only(ctx)
    service = ctx.services.content
    if service.stop_preview(ctx.user.id):
        ctx.reply(ctx.t("content_tools.chat.preview_stopped"))
    data = service.export_workbook()
    version = service.catalog.version
    ctx.set_state(UPLOAD)
    ctx.reply(
        ctx.t("content_tools.chat.current", version=version),
        document=data,
        document_name=f"noi-dung-v{version}.xlsx",
    )


@router.state(UPLOAD, media=True, role=EDITOR)
async def upload(ctx: Context, text: str) -> None:
    _city_only(ctx)
    inbound = ctx.inbound
    if (
        inbound.kind is not Kind.MEDIA
        or inbound.download is None
        or not inbound.file_name.lower().endswith(".xlsx")
    ):
        ctx.reply(ctx.t("content_tools.chat.send_xlsx"), [[home_button(ctx)]])
        return
    if inbound.file_size > MAX_UPLOAD:
        ctx.reply(ctx.t("content_tools.chat.too_big"), [[home_button(ctx)]])
        return
    report = await ctx.services.content.import_workbook(await inbound.download(), ctx.actor)

    def say(key: str, **params: object) -> str:
        return html.unescape(str(ctx.t(f"content_tools.cli.{key}", **params)))

    if report.problems:
        lines = [say("problems", count=len(report.problems))]
        lines += [f"• {p}" for p in report.problems[:MAX_LINES]]
        if len(report.problems) > MAX_LINES:
            lines.append(ctx.t("content_tools.chat.more", count=len(report.problems) - MAX_LINES))
        ctx.reply(html.escape("\n".join(lines), quote=False))
        return  # still waiting for the corrected workbook
    ctx.clear_state()
    lines = change_lines(report, say)
    if report.warnings:
        lines += [say("warnings", count=len(report.warnings))]
        lines += [f"• {w}" for w in report.warnings[:MAX_LINES]]
    rows = []
    if report.draft is not None:
        lines.append(ctx.t("content_tools.chat.draft_saved"))
        stamp = ctx.services.content.draft_stamp()
        row = [ctx.button("content_tools.chat.preview", Preview(stamp))]
        if ctx.is_admin:
            row.append(ctx.button("content_tools.chat.publish", Publish(stamp)))
        rows.append(row)
    rows.append([home_button(ctx)])
    ctx.reply(html.escape("\n".join(lines), quote=False), rows)


@router.action(Preview, role=EDITOR)
async def preview(ctx: Context, act: Preview) -> None:
    """From the next message on, this staffer alone talks to the draft (until /content)."""
    _city_only(ctx)
    service = ctx.services.content
    if not service.has_draft() or service.draft_stamp() != act.draft:
        ctx.reply(ctx.t("content_tools.chat.no_draft"), [[home_button(ctx)]])
        return
    service.start_preview(ctx.user.id)
    ctx.reply(ctx.t("content_tools.chat.previewing"), [[home_button(ctx)]])


@router.action(Publish, role=ADMIN)
async def publish(ctx: Context, act: Publish) -> None:
    _city_only(ctx)
    service = ctx.services.content
    if not service.has_draft() or service.draft_stamp() != act.draft:
        ctx.reply(ctx.t("content_tools.chat.no_draft"), [[home_button(ctx)]], edit=True)
        return
    try:
        number = await service.publish(ctx.actor)
    except ContentError:
        ctx.reply(ctx.t("content_tools.chat.no_draft"), [[home_button(ctx)]], edit=True)
        return
    ctx.reply(ctx.t("content_tools.chat.published", number=number), [[home_button(ctx)]])
