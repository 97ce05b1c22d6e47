"""Thông báo: every announcement with its delivery funnel and each recipient's outcome; resend to
those it missed, cancel, approve a draft, compose with the live audience count; the approvals of
branches' broadcasts.

Scopes as in the chat (handlers/announce): a branch's staff see and act on the announcements to
their own areas only (as /scheduled and /report list them), compose only to their areas (the
audience cut to the scope, "Trong phạm vi: …, N người."), and a broadcast of theirs to more than
APPROVAL_THRESHOLD members waits for a city admin, who approves ("Duyệt") or returns it with a
reason ("Trả lại") here or in /approvals; the author is told either way, through the chat."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.core.channel import Route
from bot.core.context import OutOfScope
from bot.core.text import plain
from bot.records import (
    DONE,
    DRAFT,
    RETURNED,
    SCHEDULED,
    WAITING_APPROVAL,
    Announcement,
    AudienceFilter,
)
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
            Route("GET", "/console/approvals", page("approve", self.approvals)),
            Route("POST", f"/console/announcements/{ID}/approve", form("approve", self.approve)),
            Route("POST", f"/console/announcements/{ID}/return", form("approve", self.send_back)),
        ]

    # -- what a viewer may see --------------------------------------------------------------------
    async def _sees(self, viewer: Viewer, item: Announcement) -> bool:
        """Whether the announcement is within the viewer's scope (its audience's areas, as the
        chat's /scheduled and /report decide); a resend reaches some of those its original
        missed, so it is as visible as the original."""
        if permitted(viewer, "view", audience=item.audience.areas):
            return True
        if item.audience.missed_from is not None:
            original = await self.s.outreach.get(item.audience.missed_from)
            return original is not None and await self._sees(viewer, original)
        return False

    async def _visible(self, viewer: Viewer, announcement_id: int) -> Announcement:
        """The announcement an address names; refused when it is outside the viewer's scope."""
        item = await self.s.outreach.get(announcement_id)
        if item is None:
            raise web.HTTPNotFound()
        if not await self._sees(viewer, item):
            raise OutOfScope(f"announcement {announcement_id} reaches beyond the scope")
        return item

    async def announcements(self, request: web.Request, viewer: Viewer) -> web.Response:
        outreach = self.s.outreach
        rows = []
        for item in await outreach.every(ANNOUNCEMENTS_SHOWN):
            if not await self._sees(viewer, item):
                continue
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
        item = await self._visible(viewer, int(request.match_info["id"]))
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
            waiting=item.approval == WAITING_APPROVAL and item.status == DRAFT,
            returned=item.approval == RETURNED and item.status == DRAFT,
            wanted=self._local(item.wanted_at),
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
        announcement_id = (await self._visible(viewer, int(request.match_info["id"]))).id
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
        item = await self._visible(viewer, int(request.match_info["id"]))
        announcement_id = item.id
        here = f"/console/announcements/{announcement_id}"
        if item.status not in (DRAFT, SCHEDULED):
            return self.site.back(here, "not_waiting")
        await self.s.outreach.cancel(announcement_id)
        await self.s.staff.audit(viewer.ref, "cancel", announcement=announcement_id)
        return self.site.back(here, "cancelled")

    async def send_draft(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        item = await self._visible(viewer, int(request.match_info["id"]))
        here = f"/console/announcements/{item.id}"
        if item.status != DRAFT or item.approval == WAITING_APPROVAL:
            return self.site.back(here, "not_waiting")  # one waiting is decided by "Duyệt"
        count = await self.s.outreach.audience_size(item.audience)
        if viewer.scope.needs_approval(count, self.s.settings.approval_threshold):
            if not await self._ask_approval(viewer, item, count, None):
                return self.site.back(here, "not_waiting")
            return self.site.back(here, "approval_asked")
        sent = await self.s.outreach.schedule(item.id, None, report_to=_report_to(viewer))
        if sent is None:
            return self.site.back(here, "not_waiting")
        await self.s.staff.audit(viewer.ref, "send", announcement=item.id, recipients=count)
        return self.site.back(here, "sending")

    def _audience_from(self, values: Any, viewer: Viewer) -> AudienceFilter:
        """The audience a compose form chose, cut to the viewer's scope (a branch's "everyone"
        is all of its areas, as in the chat); unknown areas, roles and languages are ignored,
        and an area outside the scope (a forged form) is refused."""
        catalog = self.s.catalog
        areas = tuple(c for c in values.getall("area", []) if catalog.areas.get(c) is not None)
        outside = [code for code in areas if not viewer.scope.covers(code)]
        if outside:
            raise OutOfScope(f"areas {outside}")
        known_roles = {r.id for r in catalog.campaign.roles}
        roles = tuple(r for r in values.getall("role", []) if r in known_roles)
        locale = values.get("lang") or None
        return AudienceFilter(
            areas=viewer.scope.cut(areas),
            roles=roles,
            locale=locale if locale in catalog.campaign.locales else None,
        )

    def _count_text(self, viewer: Viewer, count: int) -> str:
        """The live audience count; for a branch, the chat preview's "Trong phạm vi: …, N
        người." """
        number = self.s.i18n.number(viewer.locale, count)
        in_scope = self._scope_line(viewer, "branches.in_scope", count=number)
        return in_scope or str(self.site.t(viewer.locale, "compose.count", count=number))

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
        chosen = (
            self._audience_from(form, viewer)
            if form is not None
            else AudienceFilter(areas=viewer.scope.cut(()))
        )
        count = await self.s.outreach.audience_size(chosen)
        if form is None:
            chosen = AudienceFilter()  # nothing ticked: "everyone" (a branch's: its areas)
        response = self._render(
            request,
            "compose.html",
            viewer,
            areas=[
                (a.code, self._area(loc, a.code))
                for a in catalog.areas.all
                if viewer.scope.covers(a.code)
            ],
            roles=[(r.id, self._role(loc, r.id)) for r in catalog.campaign.roles],
            langs=list(catalog.campaign.locale_names.items()),
            chosen=chosen,
            text=(form.get("text", "") if form is not None else ""),
            at=(form.get("at", "") if form is not None else ""),
            count=self._count_text(viewer, count),
            threshold=self.s.i18n.number(loc, self.s.settings.approval_threshold),
            error=error,
        )
        response.set_status(status)
        return response

    async def create(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        form = await request.post()
        text = str(form.get("text", "")).strip()
        if not text:
            return await self.compose(request, viewer, error="empty", status=400, form=form)
        audience = self._audience_from(form, viewer)
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
            count = await outreach.audience_size(audience)
            if viewer.scope.needs_approval(count, self.s.settings.approval_threshold):
                # As in the chat: a draft, then held for a city admin's "Duyệt".
                draft = await outreach.draft(viewer.ref, body, report_to=_report_to(viewer))
                await outreach.set_audience(draft.id, audience)
                await self.s.staff.audit(viewer.ref, "draft", announcement=draft.id)
                await self._ask_approval(viewer, draft, count, at)
                return self.site.back(f"/console/announcements/{draft.id}", "approval_asked")
            item = await outreach.announce(viewer.ref, body, audience, at=at)
            await self.s.staff.audit(viewer.ref, "schedule" if at else "send", announcement=item.id)
            return self.site.back(f"/console/announcements/{item.id}", "scheduled")
        draft = await outreach.draft(viewer.ref, body)
        await outreach.set_audience(draft.id, audience)
        await self.s.staff.audit(viewer.ref, "draft", announcement=draft.id)
        return self.site.back(f"/console/announcements/{draft.id}", "drafted")

    async def audience_size(self, request: web.Request, viewer: Viewer) -> web.Response:
        count = await self.s.outreach.audience_size(self._audience_from(request.query, viewer))
        return web.json_response({"count": count, "text": self._count_text(viewer, count)})

    # -- approval of branches' broadcasts (city admins, as /approvals in the chat) ---------------
    async def _ask_approval(
        self, viewer: Viewer, item: Announcement, count: int, at: datetime | None
    ) -> bool:
        """Hold a branch's draft for a city admin and tell the approvers through the chat (the
        chat's message, in each one's language); False when it is no longer a draft."""
        outreach, i18n = self.s.outreach, self.s.i18n
        if await outreach.ask_approval(item.id, at, _report_to(viewer)) is None:
            return False
        await self.s.staff.audit(
            viewer.ref, "approval_asked", announcement=item.id, recipients=count
        )
        author = viewer.user.display_name or viewer.user.external_id
        for admin in await self.s.staff.approvers():
            message = i18n.t(
                admin.locale,
                "branches.approval_request",
                id=item.id,
                author=author,
                areas=self._areas(admin.locale, viewer.scope.codes),
                count=i18n.number(admin.locale, count),
                text=_snippet(item),
            )
            await outreach.announce("approval", message, AudienceFilter(user_ids=(admin.id,)))
        return True

    async def approvals(self, request: web.Request, viewer: Viewer) -> web.Response:
        rows = [
            {
                "a": item,
                "excerpt": _snippet(item),
                "audience": self._audience(viewer.locale, item.audience),
                "count": self.s.i18n.number(
                    viewer.locale, await self.s.outreach.audience_size(item.audience)
                ),
                "when": self._local(item.wanted_at),
            }
            for item in await self.s.outreach.awaiting_approval()
        ]
        return self._render(request, "approvals.html", viewer, rows=rows)

    async def approve(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        item = await self._visible(viewer, int(request.match_info["id"]))
        here = f"/console/announcements/{item.id}"
        if item.approval != WAITING_APPROVAL:
            return self.site.back(here, "not_waiting")
        if await self.s.outreach.approve(item.id, viewer.ref) is None:  # decided meanwhile
            return self.site.back(here, "not_waiting")
        await self.s.staff.audit(viewer.ref, "approve", announcement=item.id)
        await self._tell_author(item, "branches.approved_to_author")
        return self.site.back(here, "approved")

    async def send_back(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        item = await self._visible(viewer, int(request.match_info["id"]))
        here = f"/console/announcements/{item.id}"
        form = await request.post()
        reason = " ".join(str(form.get("reason", "")).split())[:500]
        if item.approval != WAITING_APPROVAL:
            return self.site.back(here, "not_waiting")
        if not reason:
            return self.site.back(here, "no_reason")
        if await self.s.outreach.send_back(item.id, viewer.ref, reason) is None:
            return self.site.back(here, "not_waiting")
        await self.s.staff.audit(viewer.ref, "return", announcement=item.id)
        await self._tell_author(item, "branches.returned_to_author", reason=reason)
        return self.site.back(here, "returned")

    async def _tell_author(self, item: Announcement, key: str, **params: str) -> None:
        """The author hears of the decision in the chat, as after /approvals."""
        channel, _, external_id = item.created_by.partition(":")
        author = await self.s.staff.find(channel, external_id)
        if author is None:  # the CLI, or an author who deleted their data
            return
        message = self.s.i18n.t(author.locale, key, id=item.id, **params)
        await self.s.outreach.announce("approval", message, AudienceFilter(user_ids=(author.id,)))


def _report_to(viewer: Viewer) -> tuple[str, str, str]:
    """Where progress and the final report go: the staff member's chat, as when they send from
    the chat."""
    user = viewer.user
    return (user.channel, user.chat_id, user.locale)


def _snippet(item: Announcement) -> str:
    """The first words of an announcement, as the chat's lists show them."""
    text = " ".join(plain(item.text).split())
    return text if len(text) <= 60 else text[:57].rsplit(" ", 1)[0] + "…"
