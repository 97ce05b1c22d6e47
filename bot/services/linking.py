"""One person across channels: linking their accounts with one-time codes.

The mechanism is two steps, usable by anyone who needs to hand a person over to an account:
`issue(person)` gives a short code (8 digits, valid 10 minutes, used once); `redeem(code, account)`
from another account merges that account, and whatever the bot kept of it, into the person who got
the code. Members use it with /link (one app gives the code, the other sends it); a branch
officer's helper mode can use the same two steps to hand a person they registered over to that
person's own account.

Guessing a code would take over someone's data, so codes are long enough (10^8) and wrong tries
are throttled per account and overall; a person may draw only a few codes an hour.
"""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.records import Account, User

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

CODE_DIGITS = 8
CODE_TTL = timedelta(minutes=10)
CODES_PER_HOUR = 5
TRY_WINDOW = timedelta(minutes=10)
TRIES_PER_ACCOUNT = 5  # wrong codes from one account within the window
TRIES_OVERALL = 30  # wrong codes from everyone within the window: then nobody may try for a while


class Refusal(StrEnum):
    TOO_MANY_CODES = "too_many_codes"
    TOO_MANY_TRIES = "too_many_tries"
    UNKNOWN = "unknown"  # wrong, used or expired
    SAME_PERSON = "same_person"
    SAME_CHANNEL = "same_channel"  # the person has an account on that channel already


@dataclass(frozen=True)
class Linked:
    person: User  # as now stored: the redeeming account is their current one
    merged: bool  # the account had data of its own, which is now the person's


class LinkService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._accounts = store.accounts
        self._users = store.users
        self.clock = clock
        self._wrong: dict[tuple[str, str], deque[datetime]] = {}
        self._wrong_overall: deque[datetime] = deque()

    # -- the two steps --------------------------------------------------------------------------
    async def issue(self, person: User) -> str | Refusal:
        """A new one-time code for `person` (who must be stored)."""
        now = self.clock()
        if await self._accounts.codes_since(person.id, now - timedelta(hours=1)) >= CODES_PER_HOUR:
            return Refusal.TOO_MANY_CODES
        while True:
            code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
            if await self._accounts.add_code(code, person.id, now + CODE_TTL):
                return code

    async def redeem(self, typed: str, account: User) -> Linked | Refusal:
        """Merge `account` (the one the code was typed in, stored or not) into the person the
        code was issued to."""
        now = self.clock()
        key = (account.channel, account.external_id)
        if self._too_many(key, now):
            return Refusal.TOO_MANY_TRIES
        code = "".join(c for c in typed if c.isascii() and c.isdigit())
        person_id = await self._accounts.take_code(code, now) if len(code) == CODE_DIGITS else None
        if person_id is None:
            self._note_wrong(key, now)
            return Refusal.UNKNOWN
        if account.stored and account.id == person_id:
            return Refusal.SAME_PERSON
        theirs = {a.channel for a in await self._accounts.of_person(person_id)}
        coming = {account.channel}
        if account.stored:  # the account's person comes with all their accounts
            coming |= {a.channel for a in await self._accounts.of_person(account.id)}
        if theirs & coming:  # one account per app and person
            return Refusal.SAME_CHANNEL
        person, merged = await self._accounts.merge(
            account.channel, account.external_id, account.chat_id, person_id
        )
        log.info("linking: an account on %s joined person %d", account.channel, person.id)
        return Linked(person, merged != 0)

    # -- the person's accounts ------------------------------------------------------------------
    async def accounts(self, person: User) -> list[Account]:
        """The person's accounts, the one they last wrote from first."""
        if not person.stored:
            return []
        return await self._accounts.of_person(person.id)

    async def unlink(self, person: User, channel: str) -> bool:
        """Let the person's account on `channel` go (not the one they write from)."""
        return await self._accounts.unlink(person.id, channel)

    async def prefer(self, person: User, channel: str | None) -> User:
        """Announcements go to `channel` (None: to the one last used)."""
        return await self._users.update(person.id, preferred_channel=channel)

    # -- throttling -------------------------------------------------------------------------------
    def _too_many(self, key: tuple[str, str], now: datetime) -> bool:
        since = now - TRY_WINDOW
        for tries in (self._wrong.get(key), self._wrong_overall):
            while tries and tries[0] < since:
                tries.popleft()
        if not self._wrong.get(key):
            self._wrong.pop(key, None)  # nothing left to remember of this account
        mine = len(self._wrong.get(key, ()))
        return mine >= TRIES_PER_ACCOUNT or len(self._wrong_overall) >= TRIES_OVERALL

    def _note_wrong(self, key: tuple[str, str], now: datetime) -> None:
        self._wrong.setdefault(key, deque()).append(now)
        self._wrong_overall.append(now)
        if len(self._wrong_overall) == TRIES_OVERALL:
            log.warning("linking: %d wrong codes in 10 minutes; pausing all tries", TRIES_OVERALL)
