"""Members: who wrote, their profile, their conversation state, and what the bot keeps of them.

The Dispatcher asks this service for the member behind each update and saves their session;
handlers change a profile, record consent, show a member what is kept (/mydata) and delete it
(/forget) through it. It owns the `users` and `sessions` rows. A member may write from any of
their linked accounts (bot.services.linking): they arrive as the same person.

Nothing of a person is stored before they agree to the privacy notice: until then they are an
unstored `User` (id 0) rebuilt from each update, their profile changes live only in that turn,
and the numbered choices shown to them (a terminal, Zalo) are kept in memory.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any

from bot.records import ACTIVE, BLOCKED, Session, User
from bot.store import Store

UNSTORED = 0  # the id of someone who has not agreed yet
MAX_UNSTORED_CHOICES = 10_000  # strangers' numbered choices kept in memory at most


class MemberService:
    def __init__(self, store: Store) -> None:
        self._users = store.users
        self._accounts = store.accounts
        self._sessions = store.sessions
        self._db = store.db
        self._strangers: OrderedDict[tuple[str, str], list[list[str]]] = OrderedDict()

    # -- helper mode: members an officer registers ---------------------------------------------
    async def register_assisted(
        self, name: str, role: str, area_code: str, locale: str, by: str
    ) -> User:
        """Register someone who does not chat, with them present; the officer `by` read them
        the privacy notice and confirmed their consent. They are a member without a chat
        account: counted in the figures, never messaged."""
        return await self._users.register_assisted(name, role, area_code, locale, by)

    async def registered_by(self, by: str) -> list[User]:
        """The people an officer registered, newest first."""
        return await self._users.registered_by(by)

    async def arrive(
        self,
        channel: str,
        external_id: str,
        *,
        chat_id: str,
        display_name: str,
        locale: str,
        private: bool = True,
    ) -> tuple[User, bool, Session]:
        """The member behind an update: (user, first contact, session). Someone unknown comes
        back unstored. A member who writes has unblocked the bot, so a blocked one is active.

        Only a private chat is learnt as where to reach the member: a command typed in a group
        must not send their answers and announcements to that group. Someone new seen in a group
        is reached at their own id, which is their private chat's (see `Inbound.chat_id`)."""
        known = await self._users.touch(
            channel,
            external_id,
            chat_id=chat_id if private else None,
            display_name=display_name,
        )
        if known is None:  # one of a person's other accounts: it becomes the one last used
            known = await self._accounts.switch_to(
                channel,
                external_id,
                chat_id=chat_id if private else None,
                display_name=display_name,
            )
        if known is None:
            now = self._db.clock()
            stranger = User(
                id=UNSTORED,
                channel=channel,
                external_id=external_id,
                chat_id=chat_id if private else external_id,
                display_name=display_name,
                locale=locale,
                role=None,
                area_code=None,
                status=ACTIVE,
                consent_at=None,
                created_at=now,
                last_seen_at=now,
            )
            return stranger, True, Session()
        user, session = known
        if user.status == BLOCKED:
            user = await self._users.update(user.id, status=ACTIVE)
        return user, False, session

    async def set_status(self, channel: str, external_id: str, status: str) -> bool:
        """A platform says the member blocked (or unblocked) the bot."""
        if await self._users.set_status(channel, external_id, status):
            return True
        if status == BLOCKED:  # one of a person's other accounts
            return await self._accounts.blocked_elsewhere(channel, external_id)
        return False

    async def get(self, user_id: int) -> User | None:
        return await self._users.get(user_id)

    async def find(self, channel: str, external_id: str) -> User | None:
        return await self._users.find(channel, external_id)

    async def update(self, user: User, **changes: Any) -> User:
        """Change profile fields (display_name, locale, role, area_code, status). For someone
        not stored the change holds for this turn only."""
        if not user.stored:
            return dataclasses.replace(user, **changes)
        return await self._users.update(user.id, **changes)

    async def consent(self, user: User) -> User:
        """The member agreed to the privacy notice: from now on the bot may keep their data.
        This is the moment someone new is first stored."""
        if not user.stored:
            stored, _, _ = await self._users.arrive(
                user.channel,
                user.external_id,
                chat_id=user.chat_id,
                display_name=user.display_name,
                locale=user.locale,
            )
            self._strangers.pop((user.channel, user.external_id), None)
            user = stored
        return await self._users.update(user.id, consent_at=self._db.now(), status=ACTIVE)

    async def first_contact(self, channel: str, external_id: str) -> bool:
        """Nobody the bot knows, and not in the middle of answering its numbered choices: the
        first message of someone on a platform with no "follow" or "start" event."""
        if (channel, external_id) in self._strangers:
            return False
        if await self._users.find(channel, external_id) is not None:
            return False
        return not await self._accounts.is_linked(channel, external_id)

    async def locale_of(self, channel: str, external_id: str) -> str | None:
        user = await self._users.find(channel, external_id)
        return user.locale if user else None

    # -- conversation state ---------------------------------------------------------------------
    async def save_session(self, user: User, session: Session) -> None:
        if user.stored:
            await self._sessions.save(user.id, session)

    async def choices(self, user: User) -> list[list[str]]:
        """The [label, packed action] choices last shown to the member as numbers."""
        if not user.stored:
            return self._strangers.get((user.channel, user.external_id), [])
        return await self._sessions.choices(user.id)

    async def remember_choices(
        self, channel: str, external_id: str, choices: list[list[str]]
    ) -> None:
        user = await self._users.find(channel, external_id)
        if user is not None:
            await self._sessions.save_choices(user.id, choices)
            return
        key = (channel, external_id)
        self._strangers[key] = choices
        self._strangers.move_to_end(key)
        while len(self._strangers) > MAX_UNSTORED_CHOICES:
            self._strangers.popitem(last=False)

    async def first_time_seen(self, channel: str, message_id: str) -> bool:
        """False when this platform message was handled before (a webhook delivered twice)."""
        return await self._sessions.first_time_seen(channel, message_id)

    # -- privacy ----------------------------------------------------------------------------------
    async def personal_data(self, user: User) -> dict[str, int]:
        """How many rows of each kind the bot keeps about the member (/mydata)."""
        if not user.stored:
            return {}
        return await self._users.personal_data_counts(user.id)

    async def forget(self, user: User) -> dict[str, int]:
        """Delete the member and everything that hangs off them; what was deleted (/forget)."""
        if not user.stored:
            return {}
        return await self._users.forget(user.id)
