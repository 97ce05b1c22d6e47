"""What a handler receives: the member, their language, their session, the services, and a way to
reply. A handler never talks to a messenger; it appends `Reply` objects that the channel renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.messages import Button, Inbound, Reply
from bot.core.roles import ADMIN, allowed

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.catalog.i18n import Markup, Translator
    from bot.config import Settings
    from bot.records import Session, User
    from bot.services.ask import Answerer
    from bot.services.assessment import AssessmentService
    from bot.services.calendar import CalendarService
    from bot.services.console import ConsoleService
    from bot.services.content import ContentService
    from bot.services.exports_xlsx import ExportService
    from bot.services.inbox import InboxService
    from bot.services.linking import LinkService
    from bot.services.members import MemberService
    from bot.services.outreach import OutreachService
    from bot.services.reminders import ReminderService
    from bot.services.reports import ReportService
    from bot.services.staff import Scope, StaffService


class StaleButton(Exception):
    """Raised by a handler when a well-formed button points at something that no longer exists."""


class OutOfScope(Exception):
    """Raised by a handler when a staff member asks for something outside their scope (another
    ward's member, ticket, event or figures; a broadcast a branch may not send). The router
    audits it as a refusal and tells them, whatever the path (command, button, typed text)."""


@dataclass(frozen=True)
class Services:
    """Everything long-lived a handler may use; built once by `bot.app`."""

    catalog: Catalog
    i18n: Translator
    settings: Settings
    clock: Callable[[], datetime]
    assessments: AssessmentService
    outreach: OutreachService
    reminders: ReminderService
    calendar: CalendarService
    reports: ReportService
    answerer: Answerer
    members: MemberService
    staff: StaffService
    inbox: InboxService
    console: ConsoleService
    linking: LinkService
    content: ContentService
    exports: ExportService


class Context:
    def __init__(
        self,
        inbound: Inbound,
        user: User,
        session: Session,
        services: Services,
        *,
        staff_role: str | None = None,
        scope: Scope | None = None,
        is_new: bool = False,
        router: Any = None,
        sections: dict[str, Any] | None = None,
    ) -> None:
        self.inbound = inbound
        self.user = user
        self.session = session
        self.services = services
        self.staff_role = staff_role  # None for members; else a role of bot.core.roles
        # What this person may do and where (the staff service decides; None in bare tests).
        self.scope = scope
        self.is_new = is_new
        self.router = router  # the root router (deep links, resume offers)
        self.sections = sections or {}  # menu sections this member may open, by key
        self.replies: list[Reply] = []
        self.forgotten = False  # set when the member's data was deleted: nothing more is saved
        self._session_dirty = False

    @property
    def is_admin(self) -> bool:
        """May send announcements and see reports (admins and super admins)."""
        return allowed(self.staff_role, ADMIN)

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    @property
    def actor(self) -> str:
        """How this member appears in the audit log."""
        return f"{self.user.channel}:{self.user.external_id}"

    # -- language ---------------------------------------------------------------------------
    @property
    def locale(self) -> str:
        return self.user.locale

    def t(self, key: str, **params: Any) -> Markup:
        return self.services.i18n.t(self.locale, key, **params)

    def button(self, key: str, action: Any, **params: Any) -> Button:
        """A button labelled with UI string `key`, carrying a packed action."""
        return Button(str(self.t(key, **params)), action=action.pack())

    # -- replying ---------------------------------------------------------------------------
    def reply(
        self,
        text: str,
        buttons: list[list[Button]] | None = None,
        *,
        edit: bool = False,
        **extra: Any,
    ) -> Reply:
        """Queue a message for the member. `edit=True` replaces the pressed message if possible."""
        reply = Reply(text=str(text), buttons=buttons or [], edit=edit, **extra)
        self.replies.append(reply)
        return reply

    @property
    def pressed(self) -> bool:
        """True when this turn is a button press (so editing the message reads naturally)."""
        return self.inbound.kind == "action"

    # -- state --------------------------------------------------------------------------------
    def set_state(self, state: str, **data: Any) -> None:
        """Remember what the member's next free text means (it survives a restart)."""
        self.session.state = state
        self.session.data = data
        self._session_dirty = True

    def clear_state(self) -> None:
        if self.session.state or self.session.data:
            self.session.state = ""
            self.session.data = {}
            self._session_dirty = True

    @property
    def session_dirty(self) -> bool:
        return self._session_dirty

    # -- the member ---------------------------------------------------------------------------
    async def update_user(self, **changes: Any) -> User:
        self.user = await self.services.members.update(self.user, **changes)
        return self.user

    async def consent(self) -> User:
        """The member agreed to the privacy notice (agreeing twice changes nothing)."""
        if not self.user.consented:
            self.user = await self.services.members.consent(self.user)
        return self.user

    async def forget(self) -> dict[str, int]:
        """Delete the member and all that hangs off them; nothing more is saved this turn.
        Returns how many rows of each kind went."""
        deleted = await self.services.members.forget(self.user)
        self.forgotten = True
        return deleted
