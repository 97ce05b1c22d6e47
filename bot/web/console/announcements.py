"""Thông báo: every announcement with its delivery funnel and each recipient's outcome; resend to
those it missed, cancel, approve a draft, compose with the live audience count."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.core.channel import Route
from bot.core.text import plain
from bot.records import DONE, DRAFT, SCHEDULED, AudienceFilter
from bot.services.console import Viewer, permitted
from bot.services.outreach.funnel import REASONS, STAGES, reason_of
from bot.web.console.pages import ID, Pages

ANNOUNCEMENTS_SHOWN = 100


class Announcements(Pages):
    """Announcements and their fate."""

    def routes(self) -> list[Route]:
        page, form = self.site.page, self.site.action
        return [
            Route("GET", "/console/announcements", page("view", self.announcements)),
            Route("GET", "/console/announcements/new", page("draft", self.compose)),
            Route("POST", "/console/announcements/new", form("draft", self.create)),
            Route("GET", "/console/announcements/audience", page("draft", self.audience_size)),
            Route("GET", f"/console/announcements/{ID}", page("view", self.announcement)),
            Route("POST", f"/console/announcements/{ID}/resend", form("send", self.resend)),
            Route("POST", f"/console/announcements/{ID}/cancel", form("send", self.cancel)),
            Route("POST", f"/console/announcements/{ID}/send", form("send", self.send_draft)),
        ]

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
            # failed, or expired unsent (skipped): resend_missed says who can be reached now
            resendable=item.status == DONE and funnel.failed + funnel.stage("skipped") > 0,
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
