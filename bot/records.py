"""The plain records the store returns and services pass around, with their statuses.

Every part above the store (services, handlers, channels, the CLI) sees only these dataclasses;
database rows never leave `bot.store`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Members
ACTIVE, STOPPED, BLOCKED = "active", "stopped", "blocked"
# Assessment runs
IN_PROGRESS, COMPLETED, ABANDONED = "in_progress", "completed", "abandoned"
# Delivery states. "sending" rows belong to a running worker; at start they go back to pending.
PENDING, SENDING, SENT, FAILED, BLOCKED, SKIPPED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "blocked",
    "skipped",
)
FINAL = (SENT, FAILED, BLOCKED, SKIPPED)
DRAFT, SCHEDULED, SENDING_A, DONE, CANCELLED = "draft", "scheduled", "sending", "done", "cancelled"
# The channel of a member an officer registered (helper mode): no chat account, never messaged.
# A later link to their own Telegram or Zalo account (the link-code service) makes the row theirs.
ASSISTED = "assisted"
# A branch broadcast over APPROVAL_THRESHOLD: its approval, while it stays a draft.
WAITING_APPROVAL, APPROVED, RETURNED = "waiting", "approved", "returned"
# Member questions (tickets)
OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    channel: str
    external_id: str
    chat_id: str
    display_name: str
    locale: str
    role: str | None
    area_code: str | None
    status: str
    consent_at: datetime | None
    created_at: datetime
    last_seen_at: datetime
    preferred_channel: str | None = None  # announcements go there; None: the one last used

    @property
    def consented(self) -> bool:
        return self.consent_at is not None

    @property
    def stored(self) -> bool:
        """False for someone who has written but not agreed to the privacy notice: nothing of
        them is kept until they do (their `id` is 0)."""
        return self.id > 0

    @property
    def receives_announcements(self) -> bool:
        return self.status == ACTIVE and self.consented


@dataclass(frozen=True, slots=True)
class Account:
    """One of a person's channel accounts; `current` is the one they last wrote from."""

    channel: str
    external_id: str
    chat_id: str
    status: str
    current: bool


@dataclass(slots=True)
class Session:
    """What the conversation is waiting for (`state`) and the small data it carries."""

    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    user_id: int
    definition_id: str
    version: int
    kind: str
    role: str | None
    area_code: str | None
    status: str
    position: int
    answers: dict[str, str]
    criteria: list[dict[str, Any]] | None
    total: float | None
    max_total: float | None
    passed: bool | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    entered_by: str | None = None  # the officer who filled it in for the member (helper mode)


@dataclass(frozen=True, slots=True)
class AudienceFilter:
    """Who an announcement goes to. Empty lists mean "no restriction"."""

    areas: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    locale: str | None = None
    topics: tuple[str, ...] = ()  # follows any of these topics
    not_met: str | None = None  # a title id: latest self-assessment did not meet its criteria
    staff_only: bool = False  # admins and editors (and the super admins)
    user_ids: tuple[int, ...] = ()  # exactly these members (personal reminders)
    chats: tuple[str, ...] = ()  # only these Telegram chats (a staff group), no members
    missed_from: int | None = None  # those this earlier announcement missed (a resend)
    city_staff: bool = False  # with staff_only: only staff of the whole city, not a branch's

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "areas": list(self.areas),
            "roles": list(self.roles),
            "locale": self.locale,
            "topics": list(self.topics),
            "not_met": self.not_met,
            "staff_only": self.staff_only,
            "user_ids": list(self.user_ids),
            "chats": list(self.chats),
            "missed_from": self.missed_from,
            "city_staff": self.city_staff,
        }
        return json.dumps({k: v for k, v in data.items() if v}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> AudienceFilter:
        data = json.loads(text or "{}")
        return cls(
            areas=tuple(data.get("areas", ())),
            roles=tuple(data.get("roles", ())),
            locale=data.get("locale"),
            topics=tuple(data.get("topics", ())),
            not_met=data.get("not_met"),
            staff_only=bool(data.get("staff_only", False)),
            user_ids=tuple(data.get("user_ids", ())),
            chats=tuple(data.get("chats", ())),
            missed_from=data.get("missed_from"),
            city_staff=bool(data.get("city_staff", False)),
        )

    def is_everyone(self) -> bool:
        return self == AudienceFilter()

    def __post_init__(self) -> None:
        # JSON gives lists back; the filter is a value (hashable, comparable) with tuples.
        for name in ("areas", "roles", "topics", "user_ids", "chats"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    created_by: str
    created_at: datetime
    text: str
    photo: str | None
    photo_file_id: str | None
    audience: AudienceFilter
    status: str
    scheduled_at: datetime | None
    expires_at: datetime | None
    paid: bool
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    report_chat: str | None
    report_channel: str | None
    report_message: str | None
    report_locale: str | None
    approval: str | None = None  # None | WAITING_APPROVAL | APPROVED | RETURNED (branch broadcasts)
    approval_by: str | None = None  # the city admin who decided
    approval_note: str | None = None  # why it was returned
    wanted_at: datetime | None = None  # the time its author asked for, while it waits


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    announcement_id: int
    user_id: int | None
    channel: str
    chat_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one delivery, written back in batches."""

    delivery_id: int
    status: str
    attempts: int
    error: str | None = None
    message_id: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    user_id: int
    question: str
    area_code: str | None
    role: str | None
    status: str
    assigned_to: str | None
    answer: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StaffMember:
    """Someone granted a role in the chat (super admins come from the settings, not from here)."""

    user_id: int
    role: str
    granted_at: datetime
    granted_by: str
    channel: str
    external_id: str
    chat_id: str
    display_name: str
    locale: str
    areas: tuple[str, ...] = ()  # area codes of their scope; () = the whole city

    @property
    def name(self) -> str:
        """How staff lists show them: their name, or their id when they gave none."""
        return self.display_name or self.external_id

    @property
    def ref(self) -> str:
        """How they appear in the audit log and in a ticket's assignee."""
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: what a staff member (or the CLI) did, or was refused."""

    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    scope: tuple[str, ...] = ()  # the areas the actor acted in; () = the whole city


@dataclass(frozen=True, slots=True)
class Firing:
    id: int
    kind: str
    key: str
    occurrence: str
    slot: int
    fire_at: datetime
    grace_s: float
    status: str


@dataclass(frozen=True, slots=True)
class Recheck:
    """A member's reminder to take an assessment again, due once at `due_at`."""

    id: int
    user_id: int
    definition_id: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class FaqDraft:
    """A staff answer to a member's question, kept for an editor to turn into an FAQ entry."""

    id: int
    ticket_id: int | None
    question: str
    answer: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AreaMembers:
    """How many members one area has in one role, and how many of them were active lately."""

    area_code: str | None
    role: str | None
    members: int
    active: int


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """One completed assessment for the exports: the member by id only, no name or chat id."""

    id: int
    user_id: int
    definition_id: str
    version: int
    kind: str
    role: str | None
    area_code: str | None
    criteria: list[dict[str, Any]]
    total: float | None
    max_total: float | None
    passed: bool | None
    started_at: datetime
    finished_at: datetime | None
    entered_by: str | None = None  # the officer who filled it in for the member (helper mode)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A staff member signed in to the web console (the cookie holds its secret, not this)."""

    user_id: int
    csrf: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    """Where one recipient of an announcement stands: its delivery's status and last error."""

    user_id: int | None
    channel: str
    display_name: str
    status: str
    error: str | None
    updated_at: datetime | None
