"""Routing: a command, a button action or free text (in a conversation state) -> its handler.

Each feature in `handlers/` owns a `Router` and registers its commands, actions, states and menu
sections on it; `bot.app` includes them all into one root router. The `Dispatcher` runs one
`Inbound` through the root router in a single pass and returns the replies: it records the member,
loads and saves their session, and turns every failure into a polite answer instead of a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.core import actions
from bot.core.context import Context, Services, StaleButton
from bot.core.messages import Inbound, Kind, Reply
from bot.store import User
from bot.store.users import ACTIVE, BLOCKED

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[None]]
ActionHandler = Callable[[Context, Any], Awaitable[None]]
TextHandler = Callable[[Context, str], Awaitable[None]]
DeepLinkHandler = Callable[[Context, str], Awaitable[None]]

# The fallbacks a root router must provide (handlers/fallback.py does).
FALLBACKS = ("unknown_command", "text", "media", "stale", "error")


@dataclass(frozen=True)
class Section:
    """A menu entry: opened from the main menu, by its command and by a /start deep link."""

    key: str  # deep-link payload and command name, e.g. "plans"
    label_key: str  # UI string for the menu button
    order: int
    open: Handler
    admin_only: bool = False


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, Handler] = {}
        self.actions: dict[type, ActionHandler] = {}
        self.states: dict[str, TextHandler] = {}
        self.sections: dict[str, Section] = {}
        self.fallbacks: dict[str, Callable[..., Awaitable[None]]] = {}
        self.admin_commands: set[str] = set()
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

    def command(self, *names: str, admin: bool = False) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            for name in names:
                self._claim(self.commands, name.lower(), func)
                if admin:
                    self.admin_commands.add(name.lower())
            return func

        return register

    def action(self, action_type: type) -> Callable[[ActionHandler], ActionHandler]:
        def register(func: ActionHandler) -> ActionHandler:
            self._claim(self.actions, action_type, func)
            return func

        return register

    def state(self, name: str) -> Callable[[TextHandler], TextHandler]:
        def register(func: TextHandler) -> TextHandler:
            self._claim(self.states, name, func)
            return func

        return register

    def section(
        self, key: str, label_key: str, order: int, *, admin: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register a menu section; it also answers the command `/key`."""

        def register(func: Handler) -> Handler:
            self._claim(self.sections, key, Section(key, label_key, order, func, admin))
            self.command(key, admin=admin)(func)
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
        self.admin_commands |= other.admin_commands
        self.resume_offers += other.resume_offers
        return self

    def menu_sections(self, *, admin: bool) -> list[Section]:
        return sorted(
            (s for s in self.sections.values() if admin or not s.admin_only),
            key=lambda s: s.order,
        )

    def _claim(self, table: dict, key: Any, value: Any) -> None:
        if key in table and table[key] is not value:
            raise ValueError(f"router {self.name}: {key!r} is registered twice")
        table[key] = value


class Dispatcher:
    """Runs one inbound event through the root router and returns what to show the member."""

    def __init__(self, root: Router, services: Services, is_admin: Callable[[User], bool]) -> None:
        missing = [name for name in FALLBACKS if name not in root.fallbacks]
        if missing:
            raise ValueError(f"root router lacks fallbacks: {missing}")
        self.root = root
        self.services = services
        self.is_admin = is_admin

    async def handle(self, inbound: Inbound) -> list[Reply]:
        store = self.services.store
        if inbound.kind in (Kind.BLOCKED, Kind.UNBLOCKED):
            status = BLOCKED if inbound.kind is Kind.BLOCKED else ACTIVE
            await store.users.set_status(inbound.channel, inbound.user_id, status)
            log.info("member %s on %s is now %s", inbound.user_id, inbound.channel, status)
            return []

        user, created = await store.users.seen(
            inbound.channel,
            inbound.user_id,
            chat_id=inbound.chat_id or inbound.user_id,
            display_name=inbound.display_name[:64],
            locale=self.services.i18n.locale_for(inbound.language_code),
        )
        if user.status == BLOCKED:  # they wrote to us, so they have unblocked the bot
            user = await store.users.update(user.id, status=ACTIVE)
        session = await store.sessions.get(user.id)
        is_admin = self.is_admin(user)
        ctx = Context(inbound, user, session, self.services, is_admin=is_admin, is_new=created)
        ctx.router = self.root
        ctx.sections = {s.key: s for s in self.root.menu_sections(admin=is_admin)}
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
            return ctx.replies
        if ctx.session_dirty and not ctx.forgotten:
            await store.sessions.save(ctx.user.id, ctx.session)
        return ctx.replies

    async def _route(self, ctx: Context) -> None:
        inbound = ctx.inbound
        fallbacks = self.root.fallbacks
        if inbound.kind is Kind.COMMAND:
            handler = self.root.commands.get(inbound.command)
            if handler is None or (
                inbound.command in self.root.admin_commands and not ctx.is_admin
            ):
                if handler is not None:
                    log.warning("refused admin command /%s from %s", inbound.command, ctx.user.id)
                await fallbacks["unknown_command"](ctx)
                return
            await handler(ctx)
        elif inbound.kind is Kind.ACTION:
            await self._route_action(ctx)
        elif inbound.kind is Kind.TEXT:
            state_handler = self.root.states.get(ctx.session.state)
            if state_handler is not None:
                await state_handler(ctx, inbound.text)
            else:
                await fallbacks["text"](ctx)
        else:
            await fallbacks["media"](ctx)

    async def _route_action(self, ctx: Context) -> None:
        try:
            act = actions.unpack(ctx.inbound.text)
        except actions.BadAction as exc:
            log.info("stale or forged button from %s: %s", ctx.user.id, exc)
            await self.root.fallbacks["stale"](ctx)
            return
        handler = self.root.actions.get(type(act))
        if handler is None:
            await self.root.fallbacks["stale"](ctx)
            return
        try:
            await handler(ctx, act)
        except StaleButton as exc:
            log.info("stale button %r from %s: %s", ctx.inbound.text, ctx.user.id, exc)
            ctx.replies.clear()
            await self.root.fallbacks["stale"](ctx)
