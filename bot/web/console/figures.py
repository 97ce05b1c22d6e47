"""Tổng quan: each title against its targets, the wards and communes × titles, the weekly trend,
members and activity, and the charts as PNG. A branch's staff see their own areas' figures only
(the reports service's area-limited figures, as /stats gives a branch), under a line saying whose;
groups of fewer than 5 answers stay hidden inside a scope too."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.core.channel import Route
from bot.core.text import fold
from bot.services import charts
from bot.services.console import Viewer, permitted
from bot.services.reports import SMALL, count_text, percent_text, titles_chart
from bot.web.console.pages import Pages

if TYPE_CHECKING:
    from bot.web.console.site import ConsoleSite

NEAR_TARGET = 10.0  # percentage points under the target still shown as "near"


def tone(share: float | None, target: float | None) -> str:
    """How a share stands against its target: ok, near, far; "few" when suppressed."""
    if share is None:
        return "few"
    if target is None:
        return ""
    gap = share - target
    return "ok" if gap >= 0 else "near" if gap >= -NEAR_TARGET else "far"


def next_target(targets: dict[int, float], year: int) -> float | None:
    """The target still ahead (2025 until it has passed, then 2030), else the last one."""
    ahead = [y for y in sorted(targets) if y >= year]
    chosen = ahead[0] if ahead else max(targets, default=None)
    return targets.get(chosen) if chosen is not None else None


class Figures(Pages):
    """The campaign at a glance."""

    def __init__(self, site: ConsoleSite) -> None:
        super().__init__(site)
        self._drawing = asyncio.Lock()  # matplotlib draws one chart at a time, off the loop

    def routes(self) -> list[Route]:
        page = self.site.page
        return [
            Route("GET", "/console", page("tickets", self.home)),
            Route("GET", "/console/charts/titles.png", page("view", self.titles_png)),
            Route("GET", "/console/charts/weekly.png", page("view", self.weekly_png)),
        ]

    async def home(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The figures; an officer, who sees none in the chat either, lands on the questions."""
        if not permitted(viewer, "view"):
            return self.site.back("/console/questions")
        return await self.overview(request, viewer)

    async def overview(self, request: web.Request, viewer: Viewer) -> web.Response:
        s, loc = self.s, viewer.locale
        i18n = s.i18n
        now = s.clock()
        year = now.astimezone(s.settings.timezone).year
        scope = viewer.scope
        figures = await s.reports.figures(now, scope.areas)
        titles = [
            {
                "id": f.title_id,
                "name": i18n.text(loc, f.name),
                "respondents": count_text(i18n, loc, f.respondents),
                "taken": count_text(i18n, loc, f.taken),
                "share": percent_text(i18n, loc, f.share),
                "targets": {y: i18n.percent(loc, v) for y, v in f.targets.items()},
                "tone": tone(f.share, next_target(f.targets, year)),
            }
            for f in figures.titles
        ]
        by_title = {
            f.title_id: {
                code: (n, value)
                for code, n, _, value in await s.reports.by_area(f.title_id, scope.areas)
            }
            for f in figures.titles
        }
        areas = []
        for area in s.catalog.areas.all:
            if not scope.covers(area.code):
                continue
            cells = []
            for f in figures.titles:
                n, value = by_title[f.title_id].get(area.code, (0, None))
                text = (
                    i18n.percent(loc, round(value, 1)) if value is not None else "<5" if n else "–"
                )
                cells.append(
                    {
                        "text": text,
                        "sort": f"{value:.3f}" if value is not None else "-1",
                        "tone": tone(value, next_target(f.targets, year)) if n else "none",
                    }
                )
            areas.append(
                {"name": self._area(loc, area.code), "folded": fold(area.name), "cells": cells}
            )
        weeks = await s.reports.weekly(None, now, areas=scope.areas)
        return self._render(
            request,
            "overview.html",
            viewer,
            scope_line=self._scope_line(viewer, "branches.figures_of"),
            titles=titles,
            areas=areas,
            weeks=[(week, i18n.number(loc, n)) for week, n in weeks],
            members=count_text(i18n, loc, figures.members),
            active=count_text(i18n, loc, figures.active),
            roles=[
                (self._role(loc, role) or i18n.t(loc, "stats.no_role"), count_text(i18n, loc, n))
                for role, n in sorted(figures.by_role.items(), key=lambda kv: -kv[1])
            ],
            top_areas=[
                (self._area(loc, code), count_text(i18n, loc, act), count_text(i18n, loc, total))
                for code, act, total in figures.top_areas
            ],
            small=SMALL,
            near=int(NEAR_TARGET),
        )

    async def titles_png(self, request: web.Request, viewer: Viewer) -> web.Response:
        now = self.s.clock()
        figures = await self.s.reports.figures(now, viewer.scope.areas)
        local_now = now.astimezone(self.s.settings.timezone)
        png = await self._chart(titles_chart, self.s.i18n, viewer.locale, figures, local_now)
        return self._png(png, "tien-do-danh-hieu.png")

    async def weekly_png(self, request: web.Request, viewer: Viewer) -> web.Response:
        weeks = await self.s.reports.weekly(None, self.s.clock(), areas=viewer.scope.areas)
        if not weeks:
            raise web.HTTPNotFound()
        t = self.site.t
        png = await self._chart(
            charts.counts_chart,
            str(t(viewer.locale, "overview.weekly_chart")),
            [week[5:] for week, _ in weeks],
            [n for _, n in weeks],
            str(self.s.i18n.t(viewer.locale, "stats.weekly_axis")),
        )
        return self._png(png, "hang-tuan.png")

    async def _chart(self, draw: Any, *args: Any) -> bytes | None:
        async with self._drawing:
            return await asyncio.to_thread(draw, *args)

    @staticmethod
    def _png(data: bytes | None, name: str) -> web.Response:
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=data,
            content_type="image/png",
            headers={
                "Content-Disposition": f'inline; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
