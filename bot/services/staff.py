"""Staff: who holds a role (super admins from the settings; admins, editors and officers granted
in the chat or on the command line, each for the whole city or some wards/communes), granting and
revoking those roles, the audit trail of what staff did, and the signal that tells channels a role
changed (the Telegram channel shows staff commands in that person's menu).

**Scope is decided here, and only here.** `scope_of(user)` gives a `Scope`: the person's role and
the areas it covers. Every question of the form "may this staff member do X for area Y / see Z"
is a method of `Scope` (`covers`, `may`, `cut`, `covers_audience`, `may_send`,
`needs_approval`, `may_approve`, `may_add_event`, `may_change_event`, `sees_event`,
`may_assign`). The chat handlers, the CLI and (later) the web
console ask it rather than compare roles and areas themselves.

It owns the `staff` and `audit_log` rows; a role changes only through `grant` and `revoke`, which
audit the change and send `changed` themselves, so no caller can forget either.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import Any

from bot.catalog.models import Area, Areas
from bot.core.roles import ADMIN, EDITOR, GRANTABLE, SUPER, allowed
from bot.core.signals import Signal
from bot.records import AuditEntry, StaffMember, User
from bot.store import Store

REFUSALS_WINDOW_S = 3600.0
MAX_TRACKED_ACTORS = 10_000


@dataclass(frozen=True, slots=True)
class Scope:
    """What one person may do, and where: their staff role (None for a member) and the areas it
    covers (None: the whole city; an empty set: nowhere, a member's)."""

    role: str | None
    areas: frozenset[str] | None

    @property
    def city(self) -> bool:
        """A city-wide staff member (super admins always are)."""
        return self.role is not None and self.areas is None

    @property
    def branch(self) -> bool:
        """Staff of some wards/communes only."""
        return self.role is not None and self.areas is not None

    @property
    def codes(self) -> tuple[str, ...]:
        """The scope's area codes in a stable order; () for the city (and for members)."""
        return tuple(sorted(self.areas or ()))

    def covers(self, area_code: str | None) -> bool:
        """Whether an area (a member's, an event's, a ticket's) is within this scope. A member
        who gave no area is the city's: only city staff cover them."""
        if self.role is None:
            return False
        return self.areas is None or area_code in self.areas

    def may(self, needed: str | None) -> bool:
        """Whether the role reaches what needs `needed` (anywhere in the scope)."""
        return allowed(self.role, needed)

    def cut(self, areas: Sequence[str]) -> tuple[str, ...]:
        """Audience or figure areas limited to the scope: for a branch, the chosen areas it
        covers, or all of its areas when none is chosen (its "everyone"); the city's unchanged."""
        if self.areas is None:
            return tuple(areas)
        inside = tuple(a for a in areas if a in self.areas)
        return inside or self.codes

    def covers_audience(self, areas: Sequence[str]) -> bool:
        """Whether an announcement to `areas` (none: everyone) is within this scope."""
        return self.areas is None or (bool(areas) and set(areas) <= self.areas)

    def may_send(self) -> bool:
        """Sends announcements (rather than saving drafts for an admin): admins, and a branch's
        editors and admins (to their own areas; large ones wait for approval)."""
        return self.may(ADMIN) or (self.branch and self.may(EDITOR))

    def needs_approval(self, recipients: int, threshold: int) -> bool:
        """A branch broadcast to more than `threshold` members waits for a city admin."""
        return self.branch and recipients > threshold

    def may_approve(self) -> bool:
        """Approves or returns a branch's broadcast: city admins and super admins."""
        return self.city and self.may(ADMIN)

    def may_add_event(self) -> bool:
        """Adds one-off events: city admins (for the city), and a branch's editors and admins
        (for their own areas: `cut(())` gives the event's areas)."""
        return self.may(ADMIN) if self.city else self.branch and self.may(EDITOR)

    def may_change_event(self, event_areas: Sequence[str]) -> bool:
        """Cancels a one-off event: the city's admins any; a branch only its own areas' events."""
        return self.may_add_event() and self.covers_audience(event_areas)

    def sees_event(self, event_areas: Sequence[str], own_area: str | None) -> bool:
        """Members see the city's events and those of their own area; staff also those of
        their scope."""
        return (
            not event_areas
            or own_area in event_areas
            or any(self.covers(code) for code in event_areas)
        )

    def may_assign(self) -> bool:
        """Hands a member's question to a branch: city staff only."""
        return self.city


MEMBER_SCOPE = Scope(None, frozenset())


def held_scope(member: StaffMember) -> Scope:
    """The scope of a granted role as listed (who may take a question of an area)."""
    return Scope(member.role, frozenset(member.areas) if member.areas else None)


class StaffService:
    def __init__(
        self,
        store: Store,
        super_admins: Iterable[tuple[str, str]],
        changed: Signal,
        *,
        monotonic: Callable[[], float] = monotonic,
    ) -> None:
        self._staff = store.staff
        self._users = store.users
        self.super_admins = frozenset(super_admins)  # (channel, external id) from the settings
        self.changed = changed  # sent with (user, new role or None)
        # Refusals of one thing to one actor in the current hour: (hour started, how many).
        self._refusals: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
        self._monotonic = monotonic

    async def role_of(self, user: User) -> str | None:
        """The member's staff role, or None for a member."""
        return (await self.scope_of(user)).role

    async def scope_of(self, user: User) -> Scope:
        """What `user` may do and where (see `Scope`): the one source of staff decisions."""
        if (user.channel, user.external_id) in self.super_admins:
            return Scope(SUPER, None)
        if not user.stored:
            return MEMBER_SCOPE
        if user.id in await self._staff.holders(self.super_admins):
            return Scope(SUPER, None)  # writing from another of their linked accounts
        held = await self._staff.held(user.id)
        if held is None:
            return MEMBER_SCOPE
        role, areas = held
        return Scope(role, frozenset(areas) if areas else None)

    async def scope_of_actor(self, actor: str) -> Scope:
        """The scope of someone named as in the audit log ("telegram:42"). An actor that is no
        person ("cli", the operator at the machine; "inbox", "approval", the bot itself) acts
        for the whole city."""
        channel, _, external_id = actor.partition(":")
        if not external_id:
            return Scope(SUPER, None)
        user = await self._users.find(channel, external_id)
        if user is not None:
            return await self.scope_of(user)
        return Scope(SUPER, None) if (channel, external_id) in self.super_admins else MEMBER_SCOPE

    async def members(self) -> list[StaffMember]:
        """Everyone granted a role in the chat, longest-serving first (not the super admins)."""
        return await self._staff.members()

    async def member(self, user_id: int) -> StaffMember | None:
        """The staff member with this user id, or None when they hold no granted role."""
        return next((m for m in await self._staff.members() if m.user_id == user_id), None)

    # -- who a role may go to ---------------------------------------------------------------------
    async def find(self, channel: str, external_id: str) -> User | None:
        """The member a super admin named by their id on the channel (to give them a role)."""
        return await self._users.find(channel, external_id)

    async def get(self, user_id: int) -> User | None:
        """The member a role button points at; None when they deleted their data meanwhile."""
        return await self._users.get(user_id)

    # -- changing roles ---------------------------------------------------------------------------
    async def grant(self, target: User, role: str, actor: str, areas: Sequence[str] = ()) -> None:
        """Give `target` a role for `areas` (none: the whole city), replacing any they had,
        audited as `actor`, and tell listeners."""
        if role not in GRANTABLE:
            raise ValueError(f"role {role!r} cannot be granted; grantable: {GRANTABLE}")
        codes = tuple(dict.fromkeys(areas))
        await self._staff.grant(target.id, role, actor, codes)
        detail: dict[str, Any] = {"user": _ref(target), "role": role}
        if codes:
            detail["areas"] = list(codes)
        await self.audit(actor, "grant", **detail)
        await self.changed.send(target, role)

    async def revoke(self, target: User, actor: str) -> bool:
        """Take `target`'s role away; False (nothing audited or sent) when they had none."""
        if not await self._staff.revoke(target.id):
            return False
        await self.audit(actor, "revoke", user=_ref(target))
        await self.changed.send(target, None)
        return True

    # -- the audit trail --------------------------------------------------------------------------
    async def audit(self, actor: str, action: str, **detail: Any) -> None:
        """Record what a staff member (or the CLI) did, or was refused, with the scope they
        acted in (their areas; none for the city)."""
        scope = await self.scope_of_actor(actor)
        await self._staff.audit(actor, action, scope=scope.codes, **detail)

    async def refused(self, actor: str, what: str) -> bool:
        """A staff command or button refused to someone without the role. The first refusal of
        the same thing to the same person in an hour is audited (with how many repeats came in
        the hour before); repeats are only counted, so a flood of forged presses cannot grow the
        audit trail without bound. True when written."""
        key = (actor, what)
        now = self._monotonic()
        started, pending = self._refusals.pop(key, (now, 0))
        if pending and now - started < REFUSALS_WINDOW_S:
            self._refusals[key] = (started, pending + 1)
            return False
        detail: dict[str, Any] = {"what": what}
        if pending > 1:
            detail["more_in_the_hour_before"] = pending - 1
        await self.audit(actor, "refused", **detail)
        self._refusals[key] = (now, 1)
        while len(self._refusals) > MAX_TRACKED_ACTORS:
            self._refusals.popitem(last=False)
        return True

    async def audit_trail(
        self, limit: int = 50, *, since: datetime | None = None, who: str | None = None
    ) -> list[AuditEntry]:
        """The latest audit entries, newest first; `since` a moment, `who` an actor."""
        return await self._staff.audit_trail(limit, since=since, who=who)

    async def approvers(self) -> list[User]:
        """Who approves a branch's broadcast: the city admins and the super admins."""
        found: dict[int, User] = {}
        for member in await self._staff.members():
            if held_scope(member).may_approve():
                user = await self._users.get(member.user_id)
                if user is not None:
                    found[user.id] = user
        for channel, external_id in self.super_admins:
            user = await self._users.find(channel, external_id)
            if user is not None:
                found[user.id] = user
        return list(found.values())

    async def on_channel(self, channel: str) -> list[tuple[User, str]]:
        """Every staff member known on a channel with their role, super admins included (the
        Telegram channel gives each of them a command menu of their role)."""
        found: dict[int, tuple[User, str]] = {}
        for member in await self._staff.members():
            if member.channel == channel:
                user = await self._users.get(member.user_id)
                if user is not None:
                    found[user.id] = (user, member.role)
        for member_channel, external_id in self.super_admins:
            if member_channel != channel:
                continue
            user = await self._users.find(channel, external_id)
            if user is not None:
                found[user.id] = (user, SUPER)
        return list(found.values())


def _ref(user: User) -> str:
    return f"{user.channel}:{user.external_id}"


def find_area(areas: Areas, text: str) -> tuple[Area | None, list[Area]]:
    """The ward/commune `text` names ("Hòa An", "phuong ninh kieu", a code), accent-insensitive:
    (the area, []) when it names one; (None, candidates) when it is unclear or unknown."""
    found = areas.resolve(text)
    return (found, []) if isinstance(found, Area) else (None, found)
