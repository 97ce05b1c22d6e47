"""Hỏi đáp, Sự kiện and Nhật ký: members' questions (answer, assign, close, FAQ draft), the
calendar with who attends and who is reminded (add, cancel), and the audit log.

Scopes as in the chat (handlers/inbox, handlers/events): a branch's staff see and work the
questions of their own areas only; only city staff hand a question on, to someone whose scope
covers its area; a branch adds events for its own areas and cancels only those; everyone sees the
city's events and those of their scope."""

from __future__ import annotations

import re
from datetime import date

from aiohttp import web

from bot.core.channel import Route
from bot.core.context import OutOfScope
from bot.records import Ticket
from bot.services.console import Viewer, permitted
from bot.services.staff import held_scope
from bot.web.console.pages import ID, Pages

AUDIT_SHOWN = 200
EVENT_DAYS = 90
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


class Desk(Pages):
    """The association's desk: questions, calendar, audit log."""

    def routes(self) -> list[Route]:
        page, form = self.site.page, self.site.action
        return [
            Route("GET", "/console/questions", page("tickets", self.questions)),
            Route("GET", f"/console/questions/{ID}", page("tickets", self.question)),
            Route(
                "POST",
                f"/console/questions/{ID}/{{what:answer|close}}",
                form("tickets", self.ticket_action),
            ),
            Route(
                "POST",
                f"/console/questions/{ID}/{{what:assign}}",
                form("assign", self.ticket_action),
            ),
            Route("POST", f"/console/questions/{ID}/{{what:faq}}", form("faq", self.ticket_action)),
            Route("GET", "/console/events", page("view", self.events)),
            Route("POST", "/console/events", form("events", self.add_event)),
            Route("POST", "/console/events/{id}/cancel", form("events", self.cancel_event)),
            Route("GET", "/console/audit", page("audit", self.audit)),
        ]

    async def _staff_names(self) -> dict[str, str]:
        return {m.ref: m.name for m in await self.s.staff.members()}

    async def _ticket(self, viewer: Viewer, ticket_id: int) -> Ticket:
        """The question an address names; refused when it is from outside the viewer's areas."""
        ticket = await self.s.inbox.get(ticket_id)
        if ticket is None:
            raise web.HTTPNotFound()
        if not permitted(viewer, "tickets", area=ticket.area_code):
            raise OutOfScope(f"ticket {ticket_id} is from area {ticket.area_code}")
        return ticket

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
            for ticket in await self.s.inbox.open(viewer.scope.areas)
        ]
        return self._render(request, "questions.html", viewer, rows=rows)

    async def question(self, request: web.Request, viewer: Viewer) -> web.Response:
        ticket = await self._ticket(viewer, int(request.match_info["id"]))
        staff = await self.s.staff.members()
        names = {m.ref: m.name for m in staff}
        # Whoever may take it: city staff, and the branch staff of the question's area.
        takers = [m for m in staff if held_scope(m).covers(ticket.area_code)]
        return self._render(
            request,
            "question.html",
            viewer,
            ticket=ticket,
            when=self._local(ticket.created_at),
            area=self._area(viewer.locale, ticket.area_code)
            or self.s.i18n.t(viewer.locale, "inbox.unknown_area"),
            assigned=names.get(ticket.assigned_to or "", ticket.assigned_to or ""),
            staff=[(m.user_id, m.name) for m in takers] if permitted(viewer, "assign") else [],
        )

    async def ticket_action(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        inbox = self.s.inbox
        ticket = await self._ticket(viewer, int(request.match_info["id"]))
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
            if member is None or not held_scope(member).covers(ticket.area_code):
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

    async def events(self, request: web.Request, viewer: Viewer) -> web.Response:
        s, loc, scope = self.s, viewer.locale, viewer.scope
        rows = []
        for occurrence in s.reminders.upcoming(EVENT_DAYS):
            event = occurrence.event
            if not scope.sees_event(event.areas, viewer.user.area_code):
                continue
            interest = await s.calendar.interest(occurrence.event.id, occurrence.key)
            rows.append(
                {
                    "id": occurrence.event.id,
                    "when": s.reminders.when(occurrence, loc),
                    "title": s.i18n.text(loc, occurrence.event.title),
                    "attending": s.i18n.number(loc, interest.attending),
                    "followers": s.i18n.number(loc, interest.followers),
                    "cancellable": event.custom and scope.may_change_event(event.areas),
                    "areas": self._areas(loc, event.areas),
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
        # A branch's event is its own areas' (the city's has none: everyone's), as in the chat.
        areas = viewer.scope.cut(())
        event_id = await self.s.calendar.add_event(
            title, start, viewer.ref, place=place, areas=areas
        )
        await self.s.staff.audit(viewer.ref, "event_add", event=event_id, start=start)
        return self.site.back("/console/events", "event_added")

    async def cancel_event(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        event = self.s.reminders.event(request.match_info["id"])
        if event is None or not event.custom:
            raise web.HTTPNotFound()
        if not viewer.scope.may_change_event(event.areas):
            raise OutOfScope(f"event {event.id} of areas {event.areas}")
        await self.s.calendar.cancel_event(event.id)
        await self.s.staff.audit(viewer.ref, "event_cancel", event=event.id)
        return self.site.back("/console/events", "event_cancelled")

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
