"""Staff: who holds a role (super admins from the settings, admins and editors granted in the
chat), the audit trail of what staff did, and the signal that tells channels a role changed (the
Telegram channel shows staff commands in that person's menu)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.core.roles import SUPER
from bot.core.signals import Signal
from bot.records import User
from bot.store import Store


class StaffService:
    def __init__(
        self,
        store: Store,
        super_admins: Iterable[tuple[str, str]],
        changed: Signal,
    ) -> None:
        self._staff = store.staff
        self._users = store.users
        self.super_admins = frozenset(super_admins)  # (channel, external id) from the settings
        self.changed = changed  # sent with (user, new role or None)

    async def role_of(self, user: User) -> str | None:
        """The member's staff role, or None for a member."""
        if (user.channel, user.external_id) in self.super_admins:
            return SUPER
        return await self._staff.role_of(user.id)

    async def audit(self, actor: str, action: str, **detail: Any) -> None:
        """Record what a staff member (or the CLI) did, or was refused."""
        await self._staff.audit(actor, action, **detail)

    async def on_channel(self, channel: str) -> list[tuple[User, str]]:
        """Every staff member known on a channel with their role, super admins included (the
        Telegram channel gives each of them a command menu of their role)."""
        found: dict[int, tuple[User, str]] = {}
        for row in await self._staff.members():
            if row["channel"] == channel:
                user = await self._users.get(row["user_id"])
                if user is not None:
                    found[user.id] = (user, row["role"])
        for member_channel, external_id in self.super_admins:
            if member_channel != channel:
                continue
            user = await self._users.find(channel, external_id)
            if user is not None:
                found[user.id] = (user, SUPER)
        return list(found.values())
