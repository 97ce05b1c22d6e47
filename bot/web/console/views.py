"""The console's pages and forms: Tổng quan (figures), Thông báo (announcements), Hỏi đáp
(questions), Sự kiện (calendar), Nhật ký (audit log).

Each view receives a viewer the site has already checked (session, permission, CSRF for forms)
and asks the services, as the chat's handlers do; it never reads rows itself.
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.core.channel import Route
from bot.core.text import fold, plain
from bot.records import DONE, DRAFT, SCHEDULED, AudienceFilter
from bot.services import charts
from bot.services.console import Viewer, permitted
from bot.services.outreach.funnel import REASONS, STAGES, reason_of
from bot.services.reports import SMALL, count_text, percent_text, titles_chart

if TYPE_CHECKING:
    from bot.web.console.site import ConsoleSite

ID = r"{id:\d+}"
ANNOUNCEMENTS_SHOWN = 100
AUDIT_SHOWN = 200
EVENT_DAYS = 90
NEAR_TARGET = 10.0  # percentage points under the target still shown as "near"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


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


class Views:
    def __init__(self, site: ConsoleSite) -> None:
        self.site = site
        self.s = site.services
        self._drawing = asyncio.Lock()  # matplotlib draws one chart at a time

    def routes(self) -> list[Route]:
        page, form = self.site.page, self.site.action
        return [
            Route("GET", "/console", page("view", self.overview)),
            Route("GET", "/console/charts/titles.png", page("view", self.titles_png)),
            Route("GET", "/console/charts/weekly.png", page("view", self.weekly_png)),
            Route("GET", "/console/announcements", page("view", self.announcements)),
            Route("GET", "/console/announcements/new", page("draft", self.compose)),
            Route("POST", "/console/announcements/new", form("draft", self.create)),
            Route("GET", "/console/announcements/audience", page("draft", self.audience_size)),
            Route("GET", f"/console/announcements/{ID}", page("view", self.announcement)),
            Route("POST", f"/console/announcements/{ID}/resend", form("send", self.resend)),
            Route("POST", f"/console/announcements/{ID}/cancel", form("send", self.cancel)),
            Route("POST", f"/console/announcements/{ID}/send", form("send", self.send_draft)),
            Route("GET", "/console/questions", page("tickets", self.questions)),
            Route("GET", f"/console/questions/{ID}", page("tickets", self.question)),
            Route(
                "POST",
                f"/console/questions/{ID}/{{what:answer|assign|close|faq}}",
                form("tickets", self.ticket_action),
            ),
            Route("GET", "/console/events", page("view", self.events)),
            Route("POST", "/console/events", form("events", self.add_event)),
            Route("POST", "/console/events/{id}/cancel", form("events", self.cancel_event)),
            Route("GET", "/console/audit", page("audit", self.audit)),
        ]

    # -- helpers ----------------------------------------------------------------------------------
    def _render(self, request: web.Request, template: str, viewer: Viewer, **values: Any):
        notice = request.query.get("notice")
        if notice not in NOTICES:
            notice = None
        return self.site.render(template, viewer.locale, viewer, notice=notice, **values)

    def _local(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return f"{moment.astimezone(self.s.settings.timezone):%d/%m/%Y %H:%M}"

    def _area(self, locale: str, code: str | None) -> str:
        area = self.s.catalog.areas.get(code)
        if area is None:
            return code or ""
        return f"{self.s.i18n.t(locale, f'area.type.{area.type}')} {area.name}"

    def _role(self, locale: str, role_id: str | None) -> str:
        role = self.s.catalog.campaign.role(role_id)
        return str(self.s.i18n.text(locale, role.label)) if role else (role_id or "")

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

    # -- Tổng quan --------------------------------------------------------------------------------
    async def overview(self, request: web.Request, viewer: Viewer) -> web.Response:
        s, loc = self.s, viewer.locale
        i18n = s.i18n
        now = s.clock()
        year = now.astimezone(s.settings.timezone).year
        figures = await s.reports.figures(now)
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
                code: (n, value) for code, n, _, value in await s.reports.by_area(f.title_id)
            }
            for f in figures.titles
        }
        areas = []
        for area in s.catalog.areas.all:
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
        weeks = await s.reports.weekly(None, now)
        return self._render(
            request,
            "overview.html",
            viewer,
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
        figures = await self.s.reports.figures(self.s.clock())
        png = await self._chart(titles_chart, self.s.i18n, viewer.locale, figures)
        return self._png(png, "tien-do-danh-hieu.png")

    async def weekly_png(self, request: web.Request, viewer: Viewer) -> web.Response:
        weeks = await self.s.reports.weekly(None, self.s.clock())
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

    # -- Thông báo --------------------------------------------------------------------------------
    async def announcements(self, request: web.Request, viewer: Viewer) -> web.Response:
        outreach = self.s.outreach
        rows = []
        for item in await outreach.every(ANNOUNCEMENTS_SHOWN):
            funnel = await outreach.funnel(item) if item.status not in (DRAFT, SCHEDULED) else None
            rows.append(
                {
                    "a": item,
                    "excerpt": plain(item.text)[:90],
                    "when": self._local(item.scheduled_at or item.started_at or item.created_at),
                    "funnel": funnel,
                }
            )
        return self._render(request, "announcements.html", viewer, rows=rows)

    async def announcement(self, request: web.Request, viewer: Viewer) -> web.Response:
        outreach = self.s.outreach
        item = await outreach.get(int(request.match_info["id"]))
        if item is None:
            raise web.HTTPNotFound()
        funnel = await outreach.funnel(item)
        names = permitted(viewer, "see_names")
        pseudonym = await self.s.reports.pseudonyms()
        recipients = []
        for r in await outreach.recipients(item.id):
            if r.user_id is None:
                who = str(self.site.t(viewer.locale, "announcement.extra_chat"))
            elif names:
                who = r.display_name or f"#{r.user_id}"
            else:
                who = pseudonym(r.user_id)
            recipients.append(
                {
                    "who": who,
                    "channel": r.channel,
                    "reason": reason_of(r.status, r.error),
                    "when": self._local(r.updated_at),
                }
            )
        return self._render(
            request,
            "announcement.html",
            viewer,
            a=item,
            text=plain(item.text),
            audience=self._audience(viewer.locale, item.audience),
            funnel=funnel,
            stages=STAGES,
            reasons=REASONS,
            recipients=recipients,
            names=names,
            resendable=item.status == DONE and funnel.failed > 0,
            cancellable=item.status in (DRAFT, SCHEDULED),
            when=self._local(item.scheduled_at),
            started=self._local(item.started_at),
            finished=self._local(item.finished_at),
        )

    def _audience(self, locale: str, audience: AudienceFilter) -> str:
        t = self.site.t
        if audience.is_everyone():
            return str(t(locale, "audience.everyone"))
        parts = []
        if audience.areas:
            parts.append(", ".join(self._area(locale, code) for code in audience.areas))
        if audience.roles:
            parts.append(", ".join(self._role(locale, role) for role in audience.roles))
        if audience.locale:
            names = self.s.catalog.campaign.locale_names
            parts.append(names.get(audience.locale, audience.locale))
        if audience.topics:
            parts.append(str(t(locale, "audience.topics", topics=", ".join(audience.topics))))
        if audience.not_met:
            parts.append(str(t(locale, "audience.not_met", title=audience.not_met)))
        if audience.staff_only:
            parts.append(str(t(locale, "audience.staff")))
        if audience.user_ids:
            parts.append(str(t(locale, "audience.members", count=len(audience.user_ids))))
        if audience.chats:
            parts.append(str(t(locale, "audience.chats")))
        if audience.missed_from is not None:
            parts.append(str(t(locale, "audience.missed", id=audience.missed_from)))
        return " · ".join(parts)

    async def resend(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        announcement_id = int(request.match_info["id"])
        here = f"/console/announcements/{announcement_id}"
        try:
            again = await self.s.outreach.resend_missed(announcement_id, viewer.ref)
        except LookupError:
            raise web.HTTPNotFound() from None
        except ValueError:
            return self.site.back(here, "not_finished")
        if again is None:
            return self.site.back(here, "none_missed")
        return self.site.back(f"/console/announcements/{again.id}", "resent")

    async def cancel(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        announcement_id = int(request.match_info["id"])
        here = f"/console/announcements/{announcement_id}"
        item = await self.s.outreach.get(announcement_id)
        if item is None:
            raise web.HTTPNotFound()
        if item.status not in (DRAFT, SCHEDULED):
            return self.site.back(here, "not_waiting")
        await self.s.outreach.cancel(announcement_id)
        await self.s.staff.audit(viewer.ref, "cancel", announcement=announcement_id)
        return self.site.back(here, "cancelled")

    async def send_draft(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        announcement_id = int(request.match_info["id"])
        here = f"/console/announcements/{announcement_id}"
        sent = await self.s.outreach.schedule(announcement_id, None)
        if sent is None:
            return self.site.back(here, "not_waiting")
        await self.s.staff.audit(viewer.ref, "send", announcement=announcement_id)
        return self.site.back(here, "sending")

    def _audience_from(self, values: Any) -> AudienceFilter:
        """The audience a compose form chose; unknown areas, roles and languages are ignored."""
        catalog = self.s.catalog
        areas = tuple(c for c in values.getall("area", []) if catalog.areas.get(c) is not None)
        known_roles = {r.id for r in catalog.campaign.roles}
        roles = tuple(r for r in values.getall("role", []) if r in known_roles)
        locale = values.get("lang") or None
        return AudienceFilter(
            areas=areas,
            roles=roles,
            locale=locale if locale in catalog.campaign.locales else None,
        )

    async def compose(
        self,
        request: web.Request,
        viewer: Viewer,
        *,
        error: str = "",
        status: int = 200,
        form: Any = None,
    ) -> web.Response:
        catalog, loc = self.s.catalog, viewer.locale
        chosen = self._audience_from(form) if form is not None else AudienceFilter()
        response = self._render(
            request,
            "compose.html",
            viewer,
            areas=[(a.code, self._area(loc, a.code)) for a in catalog.areas.all],
            roles=[(r.id, self._role(loc, r.id)) for r in catalog.campaign.roles],
            langs=list(catalog.campaign.locale_names.items()),
            chosen=chosen,
            text=(form.get("text", "") if form is not None else ""),
            at=(form.get("at", "") if form is not None else ""),
            count=await self.s.outreach.audience_size(chosen),
            error=error,
        )
        response.set_status(status)
        return response

    async def create(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        form = await request.post()
        text = str(form.get("text", "")).strip()
        if not text:
            return await self.compose(request, viewer, error="empty", status=400, form=form)
        audience = self._audience_from(form)
        at = None
        if form.get("at"):
            try:
                local = datetime.strptime(str(form["at"]), "%Y-%m-%dT%H:%M")
            except ValueError:
                return await self.compose(request, viewer, error="bad_time", status=400, form=form)
            at = local.replace(tzinfo=self.s.settings.timezone)
            if at <= self.s.clock():
                return await self.compose(request, viewer, error="past", status=400, form=form)
        body = html.escape(text, quote=False)  # what staff typed is text, never markup
        outreach = self.s.outreach
        if permitted(viewer, "send"):
            item = await outreach.announce(viewer.ref, body, audience, at=at)
            await self.s.staff.audit(viewer.ref, "schedule" if at else "send", announcement=item.id)
            return self.site.back(f"/console/announcements/{item.id}", "scheduled")
        draft = await outreach.draft(viewer.ref, body)
        await outreach.set_audience(draft.id, audience)
        await self.s.staff.audit(viewer.ref, "draft", announcement=draft.id)
        return self.site.back(f"/console/announcements/{draft.id}", "drafted")

    async def audience_size(self, request: web.Request, viewer: Viewer) -> web.Response:
        count = await self.s.outreach.audience_size(self._audience_from(request.query))
        text = self.site.t(
            viewer.locale, "compose.count", count=self.s.i18n.number(viewer.locale, count)
        )
        return web.json_response({"count": count, "text": str(text)})

    # -- Hỏi đáp ----------------------------------------------------------------------------------
    async def _staff_names(self) -> dict[str, str]:
        return {m.ref: m.name for m in await self.s.staff.members()}

    async def questions(self, request: web.Request, viewer: Viewer) -> web.Response:
        names = await self._staff_names()
        rows = [
            {
                "t": ticket,
                "when": self._local(ticket.created_at),
                "area": self._area(viewer.locale, ticket.area_code)
                or self.s.i18n.t(viewer.locale, "inbox.unknown_area"),
                "assigned": names.get(ticket.assigned_to or "", ticket.assigned_to or ""),
            }
            for ticket in await self.s.inbox.open()
        ]
        return self._render(request, "questions.html", viewer, rows=rows)

    async def question(self, request: web.Request, viewer: Viewer) -> web.Response:
        ticket = await self.s.inbox.get(int(request.match_info["id"]))
        if ticket is None:
            raise web.HTTPNotFound()
        staff = await self.s.staff.members()
        names = {m.ref: m.name for m in staff}
        return self._render(
            request,
            "question.html",
            viewer,
            ticket=ticket,
            when=self._local(ticket.created_at),
            area=self._area(viewer.locale, ticket.area_code)
            or self.s.i18n.t(viewer.locale, "inbox.unknown_area"),
            assigned=names.get(ticket.assigned_to or "", ticket.assigned_to or ""),
            staff=[(m.user_id, m.name) for m in staff],
        )

    async def ticket_action(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        inbox = self.s.inbox
        ticket = await inbox.get(int(request.match_info["id"]))
        if ticket is None:
            raise web.HTTPNotFound()
        here = f"/console/questions/{ticket.id}"
        form = await request.post()
        what = request.match_info["what"]
        if what == "answer":
            answer = str(form.get("answer", "")).strip()
            if not answer:
                return self.site.back(here, "empty")
            done = await inbox.answer(ticket, answer, viewer.ref)
            return self.site.back(here, "answered" if done else "not_open")
        if what == "assign":
            to = str(form.get("to", ""))
            member = await self.s.staff.member(int(to)) if to.isdigit() else None
            if member is None:
                return self.site.back(here, "not_open")
            done = await inbox.assign(ticket, member, viewer.ref)
            return self.site.back(here, "assigned" if done else "not_open")
        if what == "close":
            done = await inbox.close(ticket, viewer.ref)
            return self.site.back("/console/questions", "closed" if done else "not_open")
        try:
            await inbox.draft_faq(ticket, viewer.ref)
        except ValueError:
            return self.site.back(here, "no_answer")
        return self.site.back(here, "faq_drafted")

    # -- Sự kiện ----------------------------------------------------------------------------------
    async def events(self, request: web.Request, viewer: Viewer) -> web.Response:
        s, loc = self.s, viewer.locale
        rows = []
        for occurrence in s.reminders.upcoming(EVENT_DAYS):
            interest = await s.calendar.interest(occurrence.event.id, occurrence.key)
            rows.append(
                {
                    "id": occurrence.event.id,
                    "when": s.reminders.when(occurrence, loc),
                    "title": s.i18n.text(loc, occurrence.event.title),
                    "attending": s.i18n.number(loc, interest.attending),
                    "followers": s.i18n.number(loc, interest.followers),
                    "custom": occurrence.event.custom,
                }
            )
        return self._render(request, "events.html", viewer, rows=rows, days=EVENT_DAYS)

    async def add_event(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        form = await request.post()
        title = str(form.get("title", "")).strip()[:120]
        day = str(form.get("day", "")).strip()
        at = str(form.get("time", "")).strip()
        place = str(form.get("place", "")).strip()[:120]
        if not title or not _DAY.match(day) or (at and not _TIME.match(at)):
            return self.site.back("/console/events", "event_invalid")
        try:
            when = date.fromisoformat(day)
        except ValueError:
            return self.site.back("/console/events", "event_invalid")
        if when < self.s.reminders.today():
            return self.site.back("/console/events", "event_past")
        start = f"{day} {at}" if at else day
        event_id = await self.s.calendar.add_event(title, start, viewer.ref, place=place)
        await self.s.staff.audit(viewer.ref, "event_add", event=event_id, start=start)
        return self.site.back("/console/events", "event_added")

    async def cancel_event(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        event = self.s.reminders.event(request.match_info["id"])
        if event is None or not event.custom:
            raise web.HTTPNotFound()
        await self.s.calendar.cancel_event(event.id)
        await self.s.staff.audit(viewer.ref, "event_cancel", event=event.id)
        return self.site.back("/console/events", "event_cancelled")

    # -- Nhật ký ----------------------------------------------------------------------------------
    async def audit(self, request: web.Request, viewer: Viewer) -> web.Response:
        entries = [
            {
                "at": self._local(e.at),
                "actor": e.actor,
                "action": e.action,
                "detail": ", ".join(f"{k}: {v}" for k, v in e.detail.items()),
            }
            for e in await self.s.staff.audit_trail(AUDIT_SHOWN)
        ]
        return self._render(request, "audit.html", viewer, entries=entries)


# What a page may say happened (console.notice.*); anything else in the address is ignored.
NOTICES = frozenset(
    {
        "resent",
        "none_missed",
        "not_finished",
        "cancelled",
        "not_waiting",
        "sending",
        "scheduled",
        "drafted",
        "answered",
        "assigned",
        "closed",
        "not_open",
        "faq_drafted",
        "no_answer",
        "empty",
        "event_added",
        "event_cancelled",
        "event_invalid",
        "event_past",
    }
)
