"""The console's frame: sign-in and sign-out, sessions, CSRF, permissions, rendering, assets.

Every page goes through `ConsoleSite.page` (a valid session and `permitted(viewer, action)`),
every form through `ConsoleSite.action` (the same, and the session's CSRF token), so no view can
forget a check. Views (figures, announcements, desk) get the viewer and return what to show; a view
asked for something outside the viewer's scope (another ward's ticket, announcement, event or
area, whatever the address or form says) raises `OutOfScope`, and the guard refuses it and audits
the refusal as the chat's router does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
import markupsafe
from aiohttp import web

from bot.core.channel import Route
from bot.core.context import OutOfScope
from bot.core.roles import OFFICER
from bot.services.console import ConsoleService, LoginRefused, Viewer, permitted
from bot.web.console.announcements import Announcements
from bot.web.console.desk import Desk
from bot.web.console.figures import Figures
from bot.web.console.pages import SCOPE_NOTICES

if TYPE_CHECKING:
    from bot.core.context import Services

log = logging.getLogger(__name__)

COOKIE = "khuyenhoc_console"
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
# No script, style or picture from anywhere but here; no framing; no referrer (a login link's
# token must not leak to another site).
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none';"
    " form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

View = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]


class ConsoleSite:
    def __init__(self, services: Services, console: ConsoleService) -> None:
        self.services = services
        self.console = console
        self.i18n = services.i18n
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("bot.web.console", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rendering --------------------------------------------------------------------------------
    def t(self, locale: str, key: str, **params: Any) -> markupsafe.Markup:
        """A console text; the translator escapes the values put into it."""
        return markupsafe.Markup(str(self.i18n.t(locale, f"console.{key}", **params)))

    def render(
        self,
        template: str,
        locale: str,
        viewer: Viewer | None = None,
        *,
        status: int = 200,
        **values: Any,
    ) -> web.Response:
        def t(key: str, **params: Any) -> markupsafe.Markup:
            return self.t(locale, key, **params)

        def may(action: str) -> bool:
            return viewer is not None and permitted(viewer, action)

        def scoped(key: str, **params: Any) -> markupsafe.Markup:
            """A text of the branch-scope pages (console_scope.*)."""
            return markupsafe.Markup(str(self.i18n.t(locale, f"console_scope.{key}", **params)))

        notice = values.pop("notice", None)
        body = self.templates.get_template(template).render(
            t=t,
            may=may,
            scoped=scoped,
            viewer=viewer,
            who=self.who(locale, viewer) if viewer else "",
            locale=locale,
            csrf=viewer.csrf if viewer else "",
            notice=self._notice(locale, notice) if notice else "",
            **values,
        )
        return web.Response(text=body, content_type="text/html", status=status, headers=HEADERS)

    def _notice(self, locale: str, notice: str) -> markupsafe.Markup:
        section = "console_scope" if notice in SCOPE_NOTICES else "console"
        return markupsafe.Markup(str(self.i18n.t(locale, f"{section}.notice.{notice}")))

    def who(self, locale: str, viewer: Viewer) -> str:
        """The signed-in staff member in the header: name, role and (for a branch) areas."""
        role = viewer.role
        key = f"console_scope.role.{role}" if role == OFFICER else f"console.role.{role}"
        parts = [viewer.user.display_name or viewer.user.external_id, str(self.i18n.t(locale, key))]
        if viewer.scope.branch:
            areas = self.services.catalog.areas
            parts.append(", ".join(a.name for a in map(areas.get, viewer.scope.codes) if a))
        return " · ".join(parts)

    def refuse(self, request: web.Request, viewer: Viewer | None, status: int) -> web.Response:
        """A page saying why not: no session (sign in from the chat), or no permission."""
        locale = viewer.locale if viewer else self.i18n.default
        key = "refused.signin" if viewer is None else "refused.role"
        if status == 403 and viewer is not None and request.method == "POST":
            key = "refused.form"
        return self.render("message.html", locale, viewer, status=status, message=key)

    async def out_of_scope(
        self, request: web.Request, viewer: Viewer, exc: OutOfScope
    ) -> web.Response:
        """Something outside the viewer's areas: refused, audited (as the chat's router does:
        repeats within the hour only counted), and said as the chat says it."""
        log.info(
            "console: out of scope for %s: %s %s: %s", viewer.ref, request.method, request.path, exc
        )
        await self.services.staff.refused(viewer.ref, f"console {request.method} {request.path}")
        text = self.i18n.t(viewer.locale, "branches.outside_scope")
        return self.render("message.html", viewer.locale, viewer, status=403, text=text)

    # -- guards -----------------------------------------------------------------------------------
    async def viewer_of(self, request: web.Request) -> Viewer | None:
        return await self.console.viewer(request.cookies.get(COOKIE))

    def page(self, action: str, view: View) -> Callable[[web.Request], Awaitable[Any]]:
        """A page: a signed-in staff member permitted to `action`."""

        async def handler(request: web.Request) -> web.StreamResponse:
            viewer = await self.viewer_of(request)
            if viewer is None:
                return self.refuse(request, None, 401)
            if not permitted(viewer, action):
                return self.refuse(request, viewer, 403)
            try:
                return await view(request, viewer)
            except OutOfScope as exc:
                return await self.out_of_scope(request, viewer, exc)

        return handler

    def action(self, action: str, view: View) -> Callable[[web.Request], Awaitable[Any]]:
        """A form: as `page`, and the form's CSRF token must be this session's."""

        async def handler(request: web.Request) -> web.StreamResponse:
            viewer = await self.viewer_of(request)
            if viewer is None:
                return self.refuse(request, None, 401)
            form = await request.post()
            if not self.console.csrf_ok(viewer, form.get("csrf")):  # type: ignore[arg-type]
                log.warning("console: %s refused: bad CSRF token from %s", request.path, viewer.ref)
                return self.refuse(request, viewer, 403)
            if not permitted(viewer, action):
                await self.services.staff.refused(viewer.ref, f"console {request.path}")
                return self.refuse(request, viewer, 403)
            try:
                return await view(request, viewer)
            except OutOfScope as exc:
                return await self.out_of_scope(request, viewer, exc)

        return handler

    @staticmethod
    def back(path: str, notice: str | None = None) -> web.Response:
        """After a form: to the page to show, with what happened (a key of console.notice)."""
        query = f"?{urlencode({'notice': notice})}" if notice else ""
        return web.Response(status=303, headers={"Location": f"{path}{query}", **HEADERS})

    # -- signing in and out -----------------------------------------------------------------------
    async def login_page(self, request: web.Request) -> web.Response:
        """The link from the chat: a button to sign in. Opening the link uses nothing (a
        messenger's link preview must not spend it); pressing the button does."""
        token = request.query.get("t", "")
        locale = self.i18n.default
        try:
            works = bool(token) and await self.console.link_works(token, _client(request))
        except LoginRefused:
            return self.render("message.html", locale, status=429, message="login.too_many")
        if not works:
            return self.render("message.html", locale, status=403, message="login.expired")
        return self.render("login.html", locale, token=token)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        locale = self.i18n.default
        try:
            secret = await self.console.sign_in(str(form.get("t", "")), _client(request))
        except LoginRefused:
            return self.render("message.html", locale, status=429, message="login.too_many")
        if secret is None:
            return self.render("message.html", locale, status=403, message="login.expired")
        response = self.back("/console")
        response.set_cookie(
            COOKIE,
            secret,
            max_age=self.console.session_hours * 3600,
            path="/console",
            httponly=True,
            samesite="Strict",
            secure=self.console.secure,
        )
        return response

    async def logout(self, request: web.Request, viewer: Viewer) -> web.Response:
        await self.console.sign_out(request.cookies.get(COOKIE, ""))
        response = self.render("message.html", viewer.locale, message="logout.done")
        response.del_cookie(COOKIE, path="/console")
        return response

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        body = resources.files("bot.web.console").joinpath("static", name).read_bytes()
        return web.Response(
            body=body,
            content_type=STATIC[name],
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    # -- routes -----------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        return [
            Route("GET", "/console/login", self.login_page),
            Route("POST", "/console/login", self.login),
            Route("POST", "/console/logout", self.action("view", self.logout)),
            Route("GET", "/console/static/{name}", self.static),
            *Figures(self).routes(),
            *Announcements(self).routes(),
            *Desk(self).routes(),
        ]


def _client(request: web.Request) -> str:
    """Whom sign-in attempts are counted against: the peer's address."""
    return request.remote or "unknown"
