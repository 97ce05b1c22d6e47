"""The question inbox: members' questions to the association's staff (tickets), from the moment a
member asks to the answer that reaches them, with FAQ drafts made from good answers.

`InboxService` owns the `tickets` and `faq_drafts` rows. Handlers ask it to take a question, list
what is open, answer (the member is told through the outbox), close, assign (the staff member is
told) and draft an FAQ entry; every staff step is audited here. The scheduler calls `notify_staff`
for the digest of new questions: at most every few minutes, never in quiet hours, to the staff group
(`STAFF_CHAT_ID`) or else privately to every city staff member, and to a branch's staff the
questions of their own areas.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.records import AudienceFilter, StaffMember, Ticket, User
from bot.services.staff import held_scope
from bot.store.db import from_db_time, to_db_time

if TYPE_CHECKING:
    from bot.catalog.i18n import Translator
    from bot.services.outreach import OutreachService
    from bot.services.staff import StaffService
    from bot.store import Store

DIGEST_EVERY = timedelta(minutes=5)
LAST_DIGEST = "inbox_last_digest"  # meta key: when staff were last told, so a restart keeps pace
OPEN_PER_MEMBER = 5  # questions one member may have waiting at once (a flood is not a dialogue)
DIGEST_LINES = 10


class InboxService:
    def __init__(
        self,
        store: Store,
        i18n: Translator,
        outreach: OutreachService,
        staff: StaffService,
        *,
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
        quiet_hours: Callable[[datetime], bool],
        staff_chat: str | None = None,
    ) -> None:
        self._tickets = store.tickets
        self._users = store.users
        self._meta = store.meta
        self.i18n = i18n
        self.outreach = outreach
        self.staff = staff
        self.clock = clock
        self.timezone = timezone
        self.quiet_hours = quiet_hours  # local time -> True while staff must not be disturbed
        self.staff_chat = staff_chat  # a Telegram group for the digest; None: each staff member

    # -- members asking ---------------------------------------------------------------------------
    async def ask(self, user: User, question: str) -> Ticket | None:
        """Take a member's question for staff, filed under their area and role; None when they
        already have `OPEN_PER_MEMBER` questions waiting."""
        if await self._tickets.open_count(user.id) >= OPEN_PER_MEMBER:
            return None
        return await self._tickets.create(user.id, question, user.area_code, user.role)

    async def call_back(self, user: User, note: str) -> User:
        """A member whose message the platform withheld: a ticket asks staff to call them back,
        filed under their area when known. Someone not stored yet is kept (without consent, so
        no announcements) only so staff can answer them; /forget removes them as anyone.
        Returns the member as now stored."""
        if not user.stored:
            user, _, _ = await self._users.arrive(
                user.channel,
                user.external_id,
                chat_id=user.chat_id,
                display_name=user.display_name,
                locale=user.locale,
            )
        await self.ask(user, note)
        return user

    async def of_member(self, user_id: int) -> list[Ticket]:
        """The member's own questions, newest first (/myquestions)."""
        return await self._tickets.of_member(user_id)

    # -- staff working the inbox ----------------------------------------------------------------
    async def get(self, ticket_id: int) -> Ticket | None:
        return await self._tickets.get(ticket_id)

    async def open(self, areas: Collection[str] | None = None, *, limit: int = 200) -> list[Ticket]:
        """Open questions, oldest first; with `areas`, only those asked from these areas."""
        tickets = await self._tickets.open(limit=limit)
        if areas is not None:
            tickets = [t for t in tickets if t.area_code in areas]
        return tickets

    async def answer(self, ticket: Ticket, answer: str, actor: str) -> Ticket | None:
        """Record the answer and send it to the member, their question quoted; None when someone
        answered or closed it first (the member gets one answer, not two)."""
        answered = await self._tickets.answer(ticket.id, answer, actor)
        if answered is None:
            return None
        member = await self._users.get(ticket.user_id)
        if member is not None:  # None: the member deleted their data meanwhile
            # The member's own question is a parameter, so it is escaped: text, never markup.
            message = self.i18n.t(
                member.locale,
                "inbox.answer_to_member",
                id=ticket.id,
                question=ticket.question,
                answer=answer,
            )
            await self.outreach.announce(actor, message, AudienceFilter(user_ids=(member.id,)))
        await self.staff.audit(actor, "ticket_answer", ticket=ticket.id)
        return answered

    async def close(self, ticket: Ticket, actor: str) -> bool:
        """Close without an answer; False when it was closed already."""
        closed = await self._tickets.close(ticket.id)
        if closed:
            await self.staff.audit(actor, "ticket_close", ticket=ticket.id)
        return closed

    async def assign(self, ticket: Ticket, to: StaffMember, actor: str) -> bool:
        """Give an open question to one staff member, who is told; False when it is not open."""
        if not await self._tickets.assign(ticket.id, to.ref):
            return False
        message = self.i18n.t(
            to.locale, "inbox.assigned_to_you", id=ticket.id, question=ticket.question[:500]
        )
        await self.outreach.announce(actor, message, AudienceFilter(user_ids=(to.user_id,)))
        await self.staff.audit(actor, "ticket_assign", ticket=ticket.id, to=to.ref)
        return True

    async def draft_faq(self, ticket: Ticket, actor: str) -> int:
        """Keep an answered question as an FAQ draft for the content editors; the draft's id."""
        if not ticket.answer:
            raise ValueError(f"ticket {ticket.id} has no answer to draft an FAQ entry from")
        return await self._tickets.draft_faq(ticket, actor)

    # -- telling staff ----------------------------------------------------------------------------
    async def notify_staff(self) -> int:
        """Send one digest of the questions staff have not been told about; returns how many."""
        now = self.clock()
        if self.quiet_hours(now.astimezone(self.timezone)):
            return 0
        last = from_db_time(await self._meta.get(LAST_DIGEST))
        if last is not None and now - last < DIGEST_EVERY:
            return 0
        tickets = await self._tickets.unnotified()
        if not tickets:
            return 0
        if self.staff_chat:
            await self.outreach.announce(
                "inbox", self._digest(tickets), AudienceFilter(chats=(self.staff_chat,))
            )
        else:
            # City staff hear of every question; a branch's staff only of their areas' ones.
            city = AudienceFilter(staff_only=True, city_staff=True)
            await self.outreach.announce("inbox", self._digest(tickets), city)
            for member in await self.staff.members():
                scope = held_scope(member)
                theirs = [t for t in tickets if scope.branch and scope.covers(t.area_code)]
                if theirs:
                    audience = AudienceFilter(user_ids=(member.user_id,))
                    await self.outreach.announce("inbox", self._digest(theirs), audience)
        await self._tickets.mark_notified([t.id for t in tickets])
        await self._meta.set(LAST_DIGEST, to_db_time(now))
        return len(tickets)

    def _digest(self, tickets: list[Ticket]) -> str:
        lines = "\n".join(f"#{t.id}: “{t.question[:120]}”" for t in tickets[:DIGEST_LINES])
        return self.i18n.t(self.i18n.default, "inbox.digest", count=len(tickets), lines=lines)
