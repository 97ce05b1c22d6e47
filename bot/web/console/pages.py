"""What every console page shares: the services, the checked viewer's language, local times,
area and role names, and the notices a page may show after a form."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.services.console import Viewer

if TYPE_CHECKING:
    from bot.web.console.site import ConsoleSite

ID = r"{id:\d+}"  # a number in a page's address


class Pages:
    """A group of pages; `routes()` says which address runs which view under which permission
    (the site's `page` and `action` guards)."""

    def __init__(self, site: ConsoleSite) -> None:
        self.site = site
        self.s = site.services

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

    def _areas(self, locale: str, codes: tuple[str, ...]) -> str:
        return ", ".join(self._area(locale, code) for code in codes)

    def _scope_line(self, viewer: Viewer, key: str, **params: Any) -> str:
        """For a branch's staff, the chat's line saying which areas a page is of (the figures'
        "📍 Số liệu của …", the audience's "Trong phạm vi: …, N người."); "" for the city."""
        if not viewer.scope.branch:
            return ""
        areas = self._areas(viewer.locale, viewer.scope.codes)
        return str(self.s.i18n.t(viewer.locale, key, areas=areas, **params))

    def _role(self, locale: str, role_id: str | None) -> str:
        role = self.s.catalog.campaign.role(role_id)
        return str(self.s.i18n.text(locale, role.label)) if role else (role_id or "")


# What the approval forms may say happened (console_scope.notice.*).
SCOPE_NOTICES = frozenset({"approval_asked", "approved", "returned", "no_reason"})
# What a page may say happened (console.notice.*); anything else in the address is ignored.
NOTICES = (
    frozenset(
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
    | SCOPE_NOTICES
)
