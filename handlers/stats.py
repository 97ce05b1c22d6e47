"""Campaign progress: /stats and /export for admins (charts and CSV), /progress for members
(city-wide figures, and their own area when enough people answered).

A branch's admin sees the figures, charts and exports of their own areas only (the staff
service's `Scope`); the rule that hides groups of fewer than 5 answers holds inside a scope too."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.router import Router
from bot.services import charts
from bot.services.reports import (
    SMALL,
    figures_text,
    percent_text,
    suppressed,
    targets_text,
    titles_chart,
)
from handlers.menu import home_button
from handlers.profile import area_label

router = Router("stats")


@action("st")
@dataclass(frozen=True)
class StatsTitle:
    title_id: str


@action("sx")
@dataclass(frozen=True)
class Export:
    what: str  # assessments | members | announcements


def _n(ctx: Context, value: int) -> str:
    return "<5" if 0 < value < SMALL else ctx.services.i18n.number(ctx.locale, value)


def _pct(ctx: Context, value: float | None) -> str:
    return percent_text(ctx.services.i18n, ctx.locale, value)


def _targets(ctx: Context, targets: dict[int, float]) -> str:
    return targets_text(ctx.services.i18n, ctx.locale, targets)


@router.command("stats", role="admin")
async def stats(ctx: Context) -> None:
    arg = ctx.inbound.args.strip()
    if arg:
        if ctx.services.catalog.campaign.title(arg) is None:
            ids = ", ".join(t.id for t in ctx.services.catalog.campaign.titles)
            ctx.reply(
                ctx.t("stats.unknown_title", title=arg[:40], titles=ids), [[home_button(ctx)]]
            )
            return
        await stats_for_title(ctx, StatsTitle(arg))
        return
    now = ctx.services.clock()
    local_now = now.astimezone(ctx.services.settings.timezone)
    figures = await ctx.services.reports.figures(now, ctx.scope.areas)
    chart = titles_chart(ctx.services.i18n, ctx.locale, figures, local_now)
    if chart is not None:
        ctx.reply(ctx.t("chart.caption"), image=chart, image_name="tien-do.png")
    i18n = ctx.services.i18n
    rows = [
        [
            Button(
                ctx.t("stats.by_area_button", name=i18n.text(ctx.locale, t.name)),
                action=StatsTitle(t.id).pack(),
            )
        ]
        for t in ctx.services.catalog.campaign.titles
    ]
    rows.append(
        [
            ctx.button("content_tools.export.button_assessments", Export("assessments")),
            ctx.button("content_tools.export.button_members", Export("members")),
            ctx.button("content_tools.export.button_announcements", Export("announcements")),
        ]
    )
    rows.append([home_button(ctx)])
    text = figures_text(ctx.services.i18n, ctx.locale, figures, ctx.services.catalog, local_now)
    ctx.reply(_scope_line(ctx) + text, rows)


def _scope_line(ctx: Context) -> str:
    """For a branch: which areas the figures are of."""
    if not ctx.scope.branch:
        return ""
    areas = ", ".join(area_label(ctx, code) for code in ctx.scope.codes)
    return str(ctx.t("branches.figures_of", areas=areas)) + "\n\n"


@router.action(StatsTitle, role="admin")
async def stats_for_title(ctx: Context, act: StatsTitle) -> None:
    title = ctx.services.catalog.campaign.title(act.title_id)
    if title is None:
        raise StaleButton(f"unknown title {act.title_id}")
    reports, i18n = ctx.services.reports, ctx.services.i18n
    name = str(i18n.text(ctx.locale, title.name))
    rows = await reports.by_area(title.id, ctx.scope.areas)
    shown = sorted((r for r in rows if r[3] is not None), key=lambda r: -r[1])[:15]
    if shown:
        targets = tuple(
            (str(ctx.t("stats.chart_target", year=y)), v) for y, v in sorted(title.targets.items())
        )
        bars = tuple(
            charts.Bar(
                area_label(ctx, code),
                value or 0.0,
                targets,
                str(
                    ctx.t(
                        "chart.people",
                        part=i18n.number(ctx.locale, met),
                        whole=i18n.number(ctx.locale, n),
                    )
                ),
            )
            for code, n, met, value in shown
        )
        hidden = len(rows) - len(shown)
        note = str(ctx.t("chart.note"))
        if hidden:
            note = str(ctx.t("chart.areas_left_out", count=hidden, small=SMALL)) + " " + note
        local_now = ctx.services.clock().astimezone(ctx.services.settings.timezone)
        chart = charts.Chart(
            title=name,
            subtitle=str(ctx.t("chart.subtitle", date=i18n.date(ctx.locale, local_now))),
            groups=(charts.Group(str(ctx.t("chart.areas_heading")), bars),),
            note=note,
            axis=str(ctx.t("chart.axis")),
        )
        ctx.reply(
            ctx.t("stats.area_caption", name=name),
            image=charts.percent_chart(chart),
            image_name="theo-xa-phuong.png",
        )
    weekly = await reports.weekly(title.id, ctx.services.clock(), areas=ctx.scope.areas)
    if weekly:
        ctx.reply(
            ctx.t("stats.weekly_caption", name=name),
            image=charts.counts_chart(
                str(ctx.t("stats.weekly_chart", name=name)),
                [w[5:] for w, _ in weekly],
                [n for _, n in weekly],
                str(ctx.t("stats.weekly_axis")),
            ),
            image_name="hang-tuan.png",
        )
    lines = [ctx.t("stats.area_heading", name=name)]
    lines += [
        ctx.t(
            "stats.area_line",
            area=area_label(ctx, code),
            respondents=suppressed(n),
            share=_pct(ctx, value),
        )
        for code, n, _, value in rows
    ]
    if not rows:
        lines.append(ctx.t("stats.no_answers"))
    lines += ["", ctx.t("stats.privacy_note", small=SMALL)]
    ctx.reply("\n".join(lines), [[home_button(ctx)]])


@router.command("export", role="admin")
async def export(ctx: Context) -> None:
    asked = ctx.inbound.args.strip()
    what = asked if asked in ("members", "announcements") else "assessments"
    await export_pressed(ctx, Export(what))


@router.action(Export, role="admin")
async def export_pressed(ctx: Context, act: Export) -> None:
    """The export as an Excel workbook (a CSV opens as one column in Vietnamese Excel)."""
    now = ctx.services.clock()
    stamp = f"{now.astimezone(ctx.services.settings.timezone):%Y%m%d}"
    names = {
        "assessments": "tu-danh-gia",
        "members": "thanh-vien-theo-xa",
        "announcements": "thong-bao",
    }
    if act.what not in names:
        raise StaleButton(f"unknown export {act.what!r}")
    data = await ctx.services.exports.workbook(act.what, now, scope=ctx.scope)
    name = f"{names[act.what]}-{stamp}.xlsx"
    await ctx.services.staff.audit(ctx.actor, "export", what=act.what, bytes=len(data))
    caption = ctx.t(f"content_tools.export.caption_{act.what}", small=SMALL)
    ctx.reply(caption, document=data, document_name=name)


@router.section("progress", "menu.progress", order=40)
async def progress(ctx: Context) -> None:
    figures = await ctx.services.reports.figures(ctx.services.clock())
    i18n = ctx.services.i18n
    lines = [ctx.t("progress.title")]
    shown = [t for t in figures.titles if t.share is not None]
    for title in shown:
        lines.append(
            ctx.t(
                "progress.line",
                name=i18n.text(ctx.locale, title.name),
                respondents=_n(ctx, title.respondents),
                share=_pct(ctx, title.share),
                targets=_targets(ctx, title.targets),
            )
        )
    if not shown:
        lines.append(ctx.t("progress.too_few", small=SMALL))
    # The member's own area; for a branch's staff, also each area of their scope.
    for area in dict.fromkeys(a for a in (ctx.user.area_code, *ctx.scope.codes) if a):
        local = []
        for title in figures.titles:
            n, value = await ctx.services.reports.area_figure(title.title_id, area)
            if value is not None:
                local.append(
                    ctx.t(
                        "progress.line_short",
                        name=i18n.text(ctx.locale, title.name),
                        respondents=_n(ctx, n),
                        share=_pct(ctx, value),
                    )
                )
        if local:
            lines += ["", ctx.t("progress.area", area=area_label(ctx, area)), *local]
    lines += ["", ctx.t("progress.note")]
    ctx.reply("\n".join(lines), [[home_button(ctx)]], edit=ctx.pressed)
