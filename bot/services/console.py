"""The staff console's sign-in and permissions: one-time links asked for in the chat, the
sessions they open, and the one function that decides what a staff member may see or do there.

Staff have no password: `/console` in the chat gives a link that works once, for
`LOGIN_MINUTES`; opening it starts a session kept in the database (the cookie holds only a random
secret, and the database only its hash). Every request reads the member's staff role again, so a
role taken away closes the console at once; the staff service's `changed` signal also ends the
member's sessions. Failed sign-in attempts are rate-limited per client address.

`permitted()` is THE permission check of the console: every page and every action asks it, and
nothing else decides. It asks the staff member's `Scope` (bot/services/staff.py), the same record
the chat asks, so a branch's staff reach in the console exactly what they reach in the chat: their
areas' figures, announcements, questions and events, nothing of another ward.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import TYPE_CHECKING

from bot.core.roles import ADMIN, EDITOR, OFFICER, SUPER
from bot.records import User
from bot.services.staff import Scope

if TYPE_CHECKING:
    from bot.services.staff import StaffService
    from bot.store import Store

LOGIN_MINUTES = 10
LOGIN_ATTEMPTS = 10  # failed sign-in attempts one client address may make ...
LOGIN_WINDOW_S = 600.0  # ... in this many seconds
MAX_TRACKED_CLIENTS = 10_000

# What each console action needs, as the chat's commands do (handlers/announce, inbox, events,
# stats, staff): officers answer their areas' questions; editors see figures, announcements and
# the calendar, draft and turn answers into FAQ drafts; admins see members' names; super admins
# read the audit log.
NEEDS: dict[str, str] = {
    "view": EDITOR,  # the pages: figures, announcements, calendar
    "see_names": ADMIN,  # members' names beside their deliveries (else a pseudonym)
    "draft": EDITOR,  # compose an announcement
    "send": EDITOR,  # ... and send or schedule it, cancel one, resend (and Scope.may_send)
    "approve": ADMIN,  # approve or return a branch's broadcast (and Scope.may_approve)
    "tickets": OFFICER,  # answer or close a question
    "assign": EDITOR,  # hand a question to a branch (and Scope.may_assign)
    "faq": EDITOR,  # turn an answered question into an FAQ draft
    "events": EDITOR,  # add or cancel an event (and Scope.may_add_event)
    "audit": SUPER,  # the audit log
}

# Actions a role alone does not decide: the scope's own rule, the one the chat asks too.
SCOPE_RULES: dict[str, Callable[[Scope], bool]] = {
    "send": Scope.may_send,
    "approve": Scope.may_approve,
    "assign": Scope.may_assign,
    "events": Scope.may_add_event,
}

_ANYWHERE = object()  # `permitted` without an area: the action as such


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the console: the member, their staff scope (role and areas, read again
    on every request) and their session's CSRF token."""

    user: User
    scope: Scope
    csrf: str

    @property
    def role(self) -> str:
        return self.scope.role or ""

    @property
    def ref(self) -> str:
        """How they appear in the audit log, as in the chat."""
        return f"{self.user.channel}:{self.user.external_id}"

    @property
    def locale(self) -> str:
        return self.user.locale


def permitted(
    viewer: Viewer,
    action: str,
    *,
    area: object = _ANYWHERE,
    audience: Sequence[str] | None = None,
) -> bool:
    """Whether `viewer` may do `action` (a key of NEEDS): for the member, ticket or event of
    `area` (a ward/commune code, or None for a member who gave none) when given, and for an
    announcement to the areas `audience` (none: everyone) when given.

    The one place the console decides a permission: pages and actions all ask here, and here
    asks the viewer's `Scope`, as the chat does.
    """
    scope = viewer.scope
    if not scope.may(NEEDS[action]):
        return False
    rule = SCOPE_RULES.get(action)
    if rule is not None and not rule(scope):
        return False
    if area is not _ANYWHERE and not scope.covers(area):  # type: ignore[arg-type]
        return False
    return audience is None or scope.covers_audience(audience)


class LoginRefused(Exception):
    """Too many sign-in attempts from one address; try again later."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ConsoleService:
    def __init__(
        self,
        store: Store,
        staff: StaffService,
        *,
        clock: Callable[[], datetime],
        base_url: str | None,
        session_hours: int = 12,
        monotonic: Callable[[], float] = monotonic,
    ) -> None:
        self._console = store.console
        self._users = store.users
        self._staff = staff
        self._clock = clock
        self.base_url = base_url  # PUBLIC_BASE_URL; None: the console has no address to give
        self.session_hours = session_hours
        self._monotonic = monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # client -> times
        staff.changed.connect(self._role_changed)

    @property
    def secure(self) -> bool:
        """Cookies are marked Secure when staff reach the console over https."""
        return bool(self.base_url and self.base_url.startswith("https://"))

    # -- signing in -------------------------------------------------------------------------------
    async def login_link(self, user: User) -> str:
        """A link that signs this staff member in once, within LOGIN_MINUTES."""
        if self.base_url is None:
            raise RuntimeError("PUBLIC_BASE_URL is not set")
        token = secrets.token_urlsafe(32)
        expires = self._clock() + timedelta(minutes=LOGIN_MINUTES)
        await self._console.add_login(_hash(token), user.id, expires)
        return f"{self.base_url}/console/login?t={token}"

    async def link_works(self, token: str, client: str) -> bool:
        """Whether a link can still sign in (shown before the staff member confirms)."""
        self._check(client)
        works = await self._console.login_valid(_hash(token), self._clock())
        if not works:
            self._failed(client)
        return works

    async def sign_in(self, token: str, client: str) -> str | None:
        """Use a link: the new session's cookie secret, or None when the link is unknown, used,
        expired, or its member no longer holds a staff role. Raises LoginRefused when `client`
        failed too often."""
        self._check(client)
        now = self._clock()
        user_id = await self._console.use_login(_hash(token), now)
        if user_id is None:
            self._failed(client)
            return None
        user = await self._users.get(user_id)
        if user is None or await self._staff.role_of(user) is None:
            return None
        secret = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=self.session_hours)
        await self._console.open_session(_hash(secret), user.id, secrets.token_urlsafe(24), expires)
        await self._staff.audit(f"{user.channel}:{user.external_id}", "console_login")
        return secret

    def _check(self, client: str) -> None:
        """Refuse a client that failed LOGIN_ATTEMPTS times within the window. Only failures
        count: staff behind one proxy address sign in freely, a guesser is stopped."""
        recent = self._failures.get(client)
        if recent is None:
            return
        now = self._monotonic()
        while recent and now - recent[0] > LOGIN_WINDOW_S:
            recent.popleft()
        if len(recent) >= LOGIN_ATTEMPTS:
            raise LoginRefused(client)

    def _failed(self, client: str) -> None:
        recent = self._failures.pop(client, deque())
        recent.append(self._monotonic())
        self._failures[client] = recent  # the most recent last: the oldest are dropped first
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)

    # -- sessions ---------------------------------------------------------------------------------
    async def viewer(self, secret: str | None) -> Viewer | None:
        """Who holds this session cookie; None without a valid session or a staff role (a role
        taken away ends the session here too)."""
        if not secret:
            return None
        session = await self._console.session(_hash(secret), self._clock())
        if session is None:
            return None
        user = await self._users.get(session.user_id)
        scope = await self._staff.scope_of(user) if user is not None else None
        if user is None or scope is None or scope.role is None:
            await self._console.end(_hash(secret))
            return None
        return Viewer(user, scope, session.csrf)

    @staticmethod
    def csrf_ok(viewer: Viewer, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(viewer.csrf, str(token))

    async def sign_out(self, secret: str) -> None:
        await self._console.end(_hash(secret))

    async def prune(self) -> int:
        return await self._console.prune(self._clock())

    async def _role_changed(self, user: User, role: str | None) -> None:
        if role is None:
            await self._console.end_all(user.id)
