"""Staff: who holds a role (super admins from the settings, admins and editors granted in the
chat), granting and revoking those roles, the audit trail of what staff did, and the signal that
tells channels a role changed (the Telegram channel shows staff commands in that person's menu).

It owns the `staff` and `audit_log` rows; a role changes only through `grant` and `revoke`, which
audit the change and send `changed` themselves, so no caller can forget either.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from time import monotonic
from typing import Any

from bot.core.roles import GRANTABLE, SUPER
from bot.core.signals import Signal
from bot.records import AuditEntry, StaffMember, User
from bot.store import Store

REFUSALS_WINDOW_S = 3600.0
MAX_TRACKED_ACTORS = 10_000


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
        if (user.channel, user.external_id) in self.super_admins:
            return SUPER
        if user.stored and user.id in await self._staff.holders(self.super_admins):
            return SUPER  # writing from another of their linked accounts
        return await self._staff.role_of(user.id)

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
    async def grant(self, target: User, role: str, actor: str) -> None:
        """Give `target` a role (replacing any they had), audited as `actor`, and tell listeners."""
        if role not in GRANTABLE:
            raise ValueError(f"role {role!r} cannot be granted; grantable: {GRANTABLE}")
        await self._staff.grant(target.id, role, actor)
        await self.audit(actor, "grant", user=_ref(target), role=role)
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
        """Record what a staff member (or the CLI) did, or was refused."""
        await self._staff.audit(actor, action, **detail)

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
        await self._staff.audit(actor, "refused", **detail)
        self._refusals[key] = (now, 1)
        while len(self._refusals) > MAX_TRACKED_ACTORS:
            self._refusals.popitem(last=False)
        return True

    async def audit_trail(self, limit: int = 50) -> list[AuditEntry]:
        """The latest audit entries, newest first."""
        return await self._staff.audit_trail(limit)

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
