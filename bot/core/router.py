"""Routing: a command, a button action or free text (in a conversation state) -> its handler.

Each feature in `handlers/` owns a `Router` and registers its commands, actions, states and menu
sections on it; `bot.app` includes them all into one root router. The `Dispatcher` runs one
`Inbound` through the root router in a single pass and returns the replies: it records the member,
loads and saves their session, and turns every failure into a polite answer instead of a crash.

Several instances may share one database (behind a load balancer, a member's next press may
reach another instance while the first is being handled). The Dispatcher is then given `turns`:
each update is handled inside its member's turn, held across every instance, so the next update
reads what the previous one wrote (the session, the run) instead of the same old state. The
store provides it (bot/store/turns.py); one process alone needs none (its channels hand a
member's updates over one at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any

from bot.core import actions
from bot.core.choices import MoreChoices
from bot.core.context import Context, OutOfScope, Services, StaleButton
from bot.core.logs import member_ref
from bot.core.messages import Button, Inbound, Kind, Reply
from bot.core.roles import allowed
from bot.core.roles import check as check_role
from bot.records import ACTIVE, BLOCKED, User

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[None]]
ActionHandler = Callable[[Context, Any], Awaitable[None]]
TextHandler = Callable[[Context, str], Awaitable[None]]
DeepLinkHandler = Callable[[Context, str], Awaitable[None]]
Observer = Callable[[Inbound, float, bool], None]  # (update, seconds handling it, failed)
# (channel, member's id on it) -> held while one update of that member is handled
Turns = Callable[[str, str], AbstractAsyncContextManager[object]]


# The fallbacks a root router must provide (handlers/fallback.py does).
FALLBACKS = ("unknown_command", "text", "media", "stale", "error")


def private_only(func: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A handler that shows or changes what the bot keeps of the member: in a group it only says
    to write privately, so their profile, consent, questions and results never reach the group."""

    @functools.wraps(func)
    async def guarded(ctx: Context, *args: Any) -> None:
        if not ctx.inbound.private:
            ctx.reply(ctx.t("privacy.private_only"))
            return
        await func(ctx, *args)

    return guarded


@dataclass(frozen=True)
class Section:
    """A menu entry: opened from the main menu, by its command and by a /start deep link."""

    key: str  # deep-link payload and command name, e.g. "plans"
    label_key: str  # UI string for the menu button
    order: int
    open: Handler
    role: str | None = None  # the least staff role that may open it; None: everyone


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, Handler] = {}
        self.actions: dict[type, ActionHandler] = {}
        self.states: dict[str, TextHandler] = {}
        self.media_states: set[str] = set()  # states whose handler also takes a photo
        self.sections: dict[str, Section] = {}
        self.fallbacks: dict[str, Callable[..., Awaitable[None]]] = {}
        self.command_roles: dict[str, str] = {}  # command -> least staff role allowed
        self.action_roles: dict[type, str] = {}
        self.state_roles: dict[str, str] = {}
        self.deep_links: dict[str, DeepLinkHandler] = {}
        self.resume_offers: list[Handler] = []

    def deep_link(self, prefix: str) -> Callable[[DeepLinkHandler], DeepLinkHandler]:
        """`/start <prefix><rest>` (a t.me link's start payload) calls the handler with rest."""

        def register(func: DeepLinkHandler) -> DeepLinkHandler:
            self._claim(self.deep_links, prefix, func)
            return func

        return register

    def resume_offer(self, func: Handler) -> Handler:
        """Called when a member comes back, to offer to continue something left unfinished."""
        self.resume_offers.append(func)
        return func

    def command(
        self, *names: str, role: str | None = None, personal: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register a command; with `role`, only staff of at least that role may use it; a
        `personal` one (it shows the member's data) answers only in a private chat, and so
        does every staff one (their pages hold members' names, questions and figures, and a
        group may hold anyone)."""
        check_role(role)

        def register(func: Handler) -> Handler:
            handler = private_only(func) if personal or role else func
            for name in names:
                self._claim(self.commands, name.lower(), handler)
                if role:
                    self.command_roles[name.lower()] = role
            return func

        return register

    def action(
        self, action_type: type, *, role: str | None = None, personal: bool = False
    ) -> Callable[[ActionHandler], ActionHandler]:
        """Register a button's handler; `role` and `personal` as for `command`."""
        check_role(role)

        def register(func: ActionHandler) -> ActionHandler:
            handler = private_only(func) if personal or role else func
            self._claim(self.actions, action_type, handler)
            if role:
                self.action_roles[action_type] = role
            return func

        return register

    def state(
        self, name: str, *, media: bool = False, role: str | None = None
    ) -> Callable[[TextHandler], TextHandler]:
        """Free text while the session is in `name`; with `media`, photos too."""
        check_role(role)

        def register(func: TextHandler) -> TextHandler:
            self._claim(self.states, name, func)
            if media:
                self.media_states.add(name)
            if role:
                self.state_roles[name] = role
            return func

        return register

    def section(
        self,
        key: str,
        label_key: str,
        order: int,
        *,
        role: str | None = None,
        personal: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a menu section; it also answers the command `/key`. A `personal` one opens
        only in a private chat, however it is reached (command, menu button, deep link); so
        does a staff one."""

        def register(func: Handler) -> Handler:
            handler = private_only(func) if personal or role else func
            self._claim(self.sections, key, Section(key, label_key, order, handler, role))
            self.command(key, role=role)(handler)
            return func

        return register

    def fallback(self, name: str) -> Callable[[Callable[..., Awaitable[None]]], Any]:
        if name not in FALLBACKS:
            raise ValueError(f"unknown fallback {name!r}; known: {FALLBACKS}")

        def register(func: Callable[..., Awaitable[None]]) -> Any:
            self._claim(self.fallbacks, name, func)
            return func

        return register

    def include(self, other: Router) -> Router:
        for table in ("commands", "actions", "states", "sections", "fallbacks", "deep_links"):
            for key, value in getattr(other, table).items():
                self._claim(getattr(self, table), key, value)
        self.media_states |= other.media_states
        self.command_roles.update(other.command_roles)
        self.action_roles.update(other.action_roles)
        self.state_roles.update(other.state_roles)
        self.resume_offers += other.resume_offers
        return self

    def menu_sections(self, staff_role: str | None) -> list[Section]:
        return sorted(
            (s for s in self.sections.values() if allowed(staff_role, s.role)),
            key=lambda s: s.order,
        )

    def commands_for(self, staff_role: str | None) -> list[str]:
        return [c for c in self.commands if allowed(staff_role, self.command_roles.get(c))]

    def _claim(self, table: dict, key: Any, value: Any) -> None:
        if key in table and table[key] is not value:
            raise ValueError(f"router {self.name}: {key!r} is registered twice")
        table[key] = value


# Updates handled at once. Handling is database and CPU work on one connection and one core:
# more at once only interleave, each waiting on the others' queries, and every answer gets slower
# while throughput drops (measured with 300 members at once, bench/README.md: 2 -> 574 updates/s,
# p99 7 ms; 4 -> 732/s, 11 ms; 8 -> 611/s, 25 ms; 32 -> 552/s, 114 ms). Sending the replies is
# network waiting and happens outside, many at once.
MAX_HANDLING = 4


class Dispatcher:
    """Runs one inbound event through the root router and returns what to show the member."""

    def __init__(
        self,
        root: Router,
        services: Services,
        *,
        observers: Iterable[Observer] = (),
        max_handling: int = MAX_HANDLING,
        turns: Turns | None = None,
    ) -> None:
        missing = [name for name in FALLBACKS if name not in root.fallbacks]
        if missing:
            raise ValueError(f"root router lacks fallbacks: {missing}")
        self.root = root
        self.services = services
        # Called after each update with (inbound, seconds, failed): metrics, health.
        self.observers: list[Observer] = list(observers)
        self._admission = asyncio.Semaphore(max_handling)
        self._turns = turns

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """The replies to one update. Updates wait for one of `max_handling` places, then (with
        `turns`) for their member's turn; the time observers see runs from the place to the
        replies. The place comes first: a turn's holder is always being handled, never waiting
        for a place, so instances waiting for each other's turns cannot wait in a circle."""
        async with self._admission:
            started = time.perf_counter()
            failed = False
            try:
                async with self._turn(inbound):
                    replies, failed = await self._handle(inbound)
                return replies
            except Exception:
                # Failed beyond the handler's own error fallback (the database out of reach:
                # locked, or the member's turn held elsewhere, past the store's patience). The
                # member still gets an answer, one that needs no database.
                log.exception("update %s failed; answered 'busy'", inbound.update_id)
                failed = True
                return [Reply(text=self._busy(inbound))]
            finally:
                elapsed = time.perf_counter() - started
                for observe in self.observers:
                    observe(inbound, elapsed, failed)

    def _turn(self, inbound: Inbound) -> AbstractAsyncContextManager[object]:
        """The member's turn across instances; nothing to wait for without `turns`."""
        if self._turns is None:
            return contextlib.nullcontext()
        return self._turns(inbound.channel, inbound.user_id)

    def _busy(self, inbound: Inbound) -> str:
        i18n = self.services.i18n
        return i18n.t(i18n.locale_for(inbound.language_code), "fallback.busy")

    async def _handle(self, inbound: Inbound) -> tuple[list[Reply], bool]:
        members = self.services.members
        if inbound.kind in (Kind.BLOCKED, Kind.UNBLOCKED):
            status = BLOCKED if inbound.kind is Kind.BLOCKED else ACTIVE
            await members.set_status(inbound.channel, inbound.user_id, status)
            log.info("member %s on %s is now %s", member_ref(inbound), inbound.channel, status)
            return [], False

        user, created, session = await members.arrive(
            inbound.channel,
            inbound.user_id,
            chat_id=inbound.chat_id or inbound.user_id,
            display_name=inbound.display_name[:64],
            locale=self.services.i18n.locale_for(inbound.language_code),
            private=inbound.private,
        )
        inbound, offered = await self._numbered_choice(inbound, user)
        scope = await self.services.staff.scope_of(user)
        role = scope.role
        # A staffer previewing edited content talks to the draft; everyone else to what is live.
        services = self.services.content.preview_for(user.id) or self.services
        ctx = Context(
            inbound,
            user,
            session,
            services,
            staff_role=role,
            scope=scope,
            is_new=created,
            router=self.root,
            sections={s.key: s for s in self.root.menu_sections(role)},
        )
        if offered:
            # A number outside the choices ("3" of two) is a slip, not a question for staff:
            # say the range and show the same choices again.
            rows = [[Button(label, action=packed)] for label, packed in offered]
            ctx.reply(ctx.t("clarity.out_of_range", last=len(offered)), rows)
            return ctx.replies, False
        try:
            await self._route(ctx)
        except Exception:
            log.exception(
                "handler failed: update %s (%s %s)",
                inbound.update_id,
                inbound.kind,
                inbound.command,
            )
            ctx.replies.clear()
            await self.root.fallbacks["error"](ctx)
            return ctx.replies, True
        if ctx.session_dirty and not ctx.forgotten:
            await members.save_session(ctx.user, ctx.session)
        return ctx.replies, False

    async def _route(self, ctx: Context) -> None:
        try:
            await self._route_kind(ctx)
        except OutOfScope as exc:
            log.info("out of scope for %s: %s", ctx.user.id, exc)
            ctx.replies.clear()
            command = ctx.inbound.kind is Kind.COMMAND
            await self._refused(ctx, f"/{ctx.inbound.command}" if command else ctx.inbound.text)
            ctx.reply(ctx.t("branches.outside_scope"))

    async def _route_kind(self, ctx: Context) -> None:
        inbound = ctx.inbound
        fallbacks = self.root.fallbacks
        if inbound.kind is Kind.COMMAND:
            handler = self.root.commands.get(inbound.command)
            if handler is not None and not allowed(
                ctx.staff_role, self.root.command_roles.get(inbound.command)
            ):
                await self._refused(ctx, f"/{inbound.command}")
                handler = None
            if handler is None:
                await fallbacks["unknown_command"](ctx)
                return
            await handler(ctx)
        elif inbound.kind is Kind.ACTION:
            await self._route_action(ctx)
        else:
            state = ctx.session.state
            handler = self.root.states.get(state)
            if inbound.kind is Kind.MEDIA and state not in self.root.media_states:
                handler = None
            if handler is not None and not allowed(
                ctx.staff_role, self.root.state_roles.get(state)
            ):
                await self._refused(ctx, f"state {state}")
                ctx.clear_state()
                handler = None
            if handler is not None:
                await handler(ctx, inbound.text)
            else:
                await fallbacks["text" if inbound.kind is Kind.TEXT else "media"](ctx)

    async def _numbered_choice(
        self, inbound: Inbound, user: User
    ) -> tuple[Inbound, list[list[str]]]:
        """A typed number picks one of the numbered choices last shown (see core.choices).
        Returns the update (turned into that choice's action) and, when the number is outside
        the choices, the choices to offer again."""
        text = inbound.text.strip()
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
        if (
            inbound.kind is not Kind.TEXT
            or not (text.isascii() and text.isdigit())
            or len(text) > 3
        ):
            return inbound, []
        choices = await self.services.members.choices(user)
        number = int(text)
        if not 1 <= number <= len(choices):
            return inbound, choices
        action = replace(inbound, kind=Kind.ACTION, text=choices[number - 1][1], message_id=None)
        return action, []

    async def remember_choices(self, inbound: Inbound, choices: list[list[str]]) -> None:
        """Record the [label, action] choices a channel just showed as numbers or pages."""
        await self.services.members.remember_choices(inbound.channel, inbound.user_id, choices)

    async def _route_action(self, ctx: Context) -> None:
        try:
            act = actions.unpack(ctx.inbound.text)
        except actions.BadAction as exc:
            log.info("stale or forged button from %s: %s", ctx.user.id, exc)
            await self.root.fallbacks["stale"](ctx)
            return
        if isinstance(act, MoreChoices):  # the rest of choices that did not fit
            kept = await self.services.members.choices(ctx.user)
            if not kept:
                await self.root.fallbacks["stale"](ctx)
                return
            rows = [[Button(label, action=packed)] for label, packed in kept]
            ctx.reply(ctx.t("choices.more"), rows)
            return
        handler = self.root.actions.get(type(act))
        if handler is not None and not allowed(
            ctx.staff_role, self.root.action_roles.get(type(act))
        ):
            await self._refused(ctx, ctx.inbound.text)
            handler = None
        if handler is None:
            await self.root.fallbacks["stale"](ctx)
            return
        try:
            await handler(ctx, act)
        except StaleButton as exc:
            log.info("stale button %r from %s: %s", ctx.inbound.text, ctx.user.id, exc)
            ctx.replies.clear()
            await self.root.fallbacks["stale"](ctx)

    # -- what a channel may ask ------------------------------------------------------------------
    def locales(self) -> tuple[list[str], str]:
        """The campaign's languages and the default one."""
        campaign = self.services.catalog.campaign
        return list(campaign.locales), campaign.default_locale

    def command_menu(self, locale: str, staff_role: str | None) -> list[tuple[str, str]]:
        """(command, description) of the commands someone of this role may use, for a
        messenger's command menu."""
        described = self.services.catalog.locales.commands(locale)
        allowed_here = set(self.root.commands_for(staff_role))
        return [(name, text) for name, text in described.items() if name in allowed_here]

    def text(self, locale: str, key: str) -> str:
        """One interface string (e.g. a channel's "more" button)."""
        return str(self.services.i18n.t(locale, key))

    async def locale_of(self, channel: str, external_id: str) -> str:
        """The language a member chose, or the default one for someone unknown."""
        known = await self.services.members.locale_of(channel, external_id)
        return known or self.services.i18n.default

    async def first_contact(self, channel: str, external_id: str) -> bool:
        """Whether someone writes for the very first time (a platform without a start event
        then greets them as /start would)."""
        return await self.services.members.first_contact(channel, external_id)

    async def first_time_seen(self, channel: str, message_id: str) -> bool:
        """False for a platform message handled before (a webhook that delivered it twice)."""
        return await self.services.members.first_time_seen(channel, message_id)

    async def staff_on(self, channel: str) -> list[tuple[User, str]]:
        """Staff members known on a channel and their roles."""
        return await self.services.staff.on_channel(channel)

    async def _refused(self, ctx: Context, what: str) -> None:
        """A staff-only command or button from someone without the role: audited and logged
        (repeats within the hour are only counted)."""
        if await self.services.staff.refused(ctx.actor, what):
            log.warning("refused %r from member %s (role %s)", what, ctx.user.id, ctx.staff_role)
