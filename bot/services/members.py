"""Members: who wrote, their profile, their conversation state, and what the bot keeps of them.

The Dispatcher asks this service for the member behind each update and saves their session;
handlers change a profile, record consent, show a member what is kept (/mydata) and delete it
(/forget) through it. It owns the `users` and `sessions` rows.
"""

from __future__ import annotations

from typing import Any

from bot.records import ACTIVE, BLOCKED, Session, User
from bot.store import Store


class MemberService:
    def __init__(self, store: Store) -> None:
        self._users = store.users
        self._sessions = store.sessions
        self._db = store.db

    async def arrive(
        self, channel: str, external_id: str, *, chat_id: str, display_name: str, locale: str
    ) -> tuple[User, bool, Session]:
        """The member behind an update, created on first contact: (user, created, session).
        A member who writes has unblocked the bot, so a blocked one becomes active again."""
        user, created, session = await self._users.arrive(
            channel, external_id, chat_id=chat_id, display_name=display_name, locale=locale
        )
        if user.status == BLOCKED:
            user = await self._users.update(user.id, status=ACTIVE)
        return user, created, session

    async def set_status(self, channel: str, external_id: str, status: str) -> bool:
        """A platform says the member blocked (or unblocked) the bot."""
        return await self._users.set_status(channel, external_id, status)

    async def get(self, user_id: int) -> User | None:
        return await self._users.get(user_id)

    async def find(self, channel: str, external_id: str) -> User | None:
        return await self._users.find(channel, external_id)

    async def update(self, user_id: int, **changes: Any) -> User:
        """Change profile fields (display_name, locale, role, area_code, status, consent_at)."""
        return await self._users.update(user_id, **changes)

    async def consent(self, user_id: int) -> User:
        """The member agreed to the privacy notice: from now on the bot may keep their data."""
        return await self._users.update(user_id, consent_at=self._db.now(), status=ACTIVE)

    async def locale_of(self, channel: str, external_id: str) -> str | None:
        user = await self._users.find(channel, external_id)
        return user.locale if user else None

    # -- conversation state ---------------------------------------------------------------------
    async def save_session(self, user_id: int, session: Session) -> None:
        await self._sessions.save(user_id, session)

    async def choices(self, user_id: int) -> list[list[str]]:
        """The [label, packed action] choices last shown to the member as numbers."""
        return await self._sessions.choices(user_id)

    async def remember_choices(
        self, channel: str, external_id: str, choices: list[list[str]]
    ) -> None:
        user = await self._users.find(channel, external_id)
        if user is not None:
            await self._sessions.save_choices(user.id, choices)

    async def first_time_seen(self, channel: str, message_id: str) -> bool:
        """False when this platform message was handled before (a webhook delivered twice)."""
        return await self._sessions.first_time_seen(channel, message_id)

    # -- privacy ----------------------------------------------------------------------------------
    async def personal_data(self, user_id: int) -> dict[str, int]:
        """How many rows of each kind the bot keeps about the member (/mydata)."""
        return await self._users.personal_data_counts(user_id)

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete the member and everything that hangs off them; what was deleted (/forget)."""
        return await self._users.forget(user_id)
