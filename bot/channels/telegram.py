"""Telegram: python-telegram-bot's `Application` <-> the conversation kernel.

Updates become `Inbound`, `Reply` objects become Bot API calls (HTML, inline keyboards, edits in
place after a button press). No business decisions live here. Transport is aiohttp
(`AiohttpRequest`); updates are processed concurrently across chats and strictly in order within
one chat (`PerChatUpdateProcessor`), so two quick taps of one member never race on their state.
Updates and the hot calls stay the Bot API's JSON (`telegram_polling`, `raw_call`): building PTB's
objects for them was half the CPU of an update (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import warnings
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)
from telegram.warnings import PTBUserWarning

from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.telegram_polling import Poller, retry_seconds
from bot.core.channel import (
    ChannelRefused,
    DeliveryError,
    Failure,
    InboundLog,
    Pacing,
    Route,
    Sent,
)
from bot.core.logs import mask, member_ref
from bot.core.messages import Button, Inbound, Kind, Reply
from bot.core.router import Dispatcher
from bot.core.signals import Signal
from bot.core.text import plain, split_text

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
MAX_RETRY_AFTER_S = 30  # an interactive answer waits this long at most for a flood limit


@dataclass(frozen=True)
class Patience:
    """How long a reply to a member keeps trying through an outage (5xx, timeouts, refused
    connections) before it is given up: `first` seconds between the first tries, doubled up to
    `longest`, for `total` seconds in all. Only that member's chat waits meanwhile."""

    total: float = 180.0
    first: float = 1.0
    longest: float = 30.0


NO_PREVIEW = {"is_disabled": True}  # link previews would bury the buttons under a web card
# raw_call uses do_api_request for methods PTB also offers typed; it warns about that each time.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)


MAX_WAITING_PER_CHAT = 20  # a member's updates in hand at most (answered or waiting); more: dropped


class FloodGate:
    """How many updates of one chat may wait their turn. A member sending far faster than the
    bot can answer (a stuck key, a script) must not take the update slots all members share:
    past the bound an update is dropped (and released, so polling does not fetch it again),
    the member is told once per flood, and the drops are counted for /metrics."""

    def __init__(self, limit: int = MAX_WAITING_PER_CHAT) -> None:
        self.limit = limit
        self.dropped = 0
        self._dropped_ids: set[int] = set()
        self._told: set[int] = set()  # chats told of this flood already

    def drop(self, update_id: int) -> None:
        self._dropped_ids.add(update_id)
        self.dropped += 1

    def was_dropped(self, update_id: int) -> bool:
        if update_id in self._dropped_ids:
            self._dropped_ids.discard(update_id)
            return True
        return False

    def first_notice(self, chat: int) -> bool:
        """True once per flood of a chat: tell the member then, not for every dropped message."""
        if chat in self._told:
            return False
        self._told.add(chat)
        return True

    def calm(self, chat: int) -> None:
        """The chat's queue has emptied: a later flood is told again."""
        self._told.discard(chat)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Many chats at once, one update at a time per chat, in arrival order.

    python-telegram-bot takes a concurrency slot before calling `do_process_update`, so a chat's
    queued updates hold slots while they wait for the chat's turn. The slots are therefore many:
    with few, one member sending a burst of messages would hold them all and everyone else
    would wait for the burst. How many updates are handled at once is the Dispatcher's business
    (`MAX_HANDLING`); the slots only bound the updates taken in (waiting, handled or answered).
    """

    def __init__(self, max_concurrent_updates: int = 512, *, gate: FloodGate | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._gate = gate or FloodGate()
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: defaultdict[int, int] = defaultdict(int)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            return
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if self._waiting.get(key, 0) >= self._gate.limit and isinstance(update_id, int):
            # This chat already has its fill waiting: do not let it hold one more of the
            # slots every member shares. The update still runs (it is dropped there, and
            # released), outside the chat's turn.
            self._gate.drop(update_id)
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued: forget the chat's lock
                del self._waiting[key]
                self._locks.pop(key, None)
                self._gate.calm(key)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _chat_key(update: object) -> int | None:
    """The chat an update belongs to (the member's id when there is no chat)."""
    if not isinstance(update, dict):
        return None
    with contextlib.suppress(KeyError, TypeError, ValueError):
        if "callback_query" in update:
            query = update["callback_query"]
            message = query.get("message")
            return int(message["chat"]["id"] if message else query["from"]["id"])
        body = update.get("message") or update.get("my_chat_member")
        if body is not None:
            return int(body["chat"]["id"])
    return None


def file_url_for(api_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (also for own servers)."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: Telegram POSTs updates to `url`, carrying `secret` in a header."""

    url: str
    secret: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramChannel:
    """Owns the python-telegram-bot Application and translates in both directions.

    Long polling by default; with a `Webhook`, its route is mounted on the web server. `pacing`
    (the outbox's rate limiter, when this process sends announcements) learns of every reply to
    a chatting member; `staff_changed` tells the channel to update a staff member's menu.
    """

    name = CHANNEL

    def __init__(
        self,
        dispatcher: Dispatcher,
        application: Application,
        inbound: InboundLog,
        *,
        webhook: Webhook | None = None,
        pacing: Pacing | None = None,
        staff_changed: Signal | None = None,
        poll_timeout: float = 10.0,
        requests: tuple[AiohttpRequest, ...] = (),
        patience: Patience = Patience(),
        flood: FloodGate | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.flood = flood or FloodGate()  # shared with the update processor that drops
        # Closed by `close` even when the start failed half-way (a rejected token): PTB closes
        # them only for a bot that finished initializing.
        self._requests = requests
        self.application = application
        self.webhook = webhook
        self.pacer = pacing
        self.patience = patience
        self.sender = TelegramSender(self)
        self.poller = Poller(
            application.bot,
            application.update_queue,
            inbound,
            timeout=int(poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
        )
        # Webhook calls waiting for their update to be handled, by update_id.
        self._webhook_waiting: dict[int, asyncio.Future[None]] = {}
        # Updates arrive as the Bot API's JSON (see telegram_polling), from polling and webhook.
        application.add_handler(TypeHandler(dict, self._take))
        application.add_error_handler(self._on_error)
        if staff_changed is not None:
            staff_changed.connect(self.staff_menu)

    @classmethod
    def build(
        cls,
        dispatcher: Dispatcher,
        token: str,
        api_url: str,
        inbound: InboundLog,
        *,
        webhook: Webhook | None = None,
        pacing: Pacing | None = None,
        staff_changed: Signal | None = None,
        pool_size: int = 256,
        read_timeout: float = 5.0,
        poll_timeout: float = 10.0,
        patience: Patience = Patience(),
    ) -> TelegramChannel:
        calls = AiohttpRequest(connection_pool_size=pool_size, read_timeout=read_timeout)
        flood = FloodGate()
        # Long polling holds its connection for the poll timeout: give it a pool of its own.
        polling = AiohttpRequest(connection_pool_size=1)
        application = (
            ApplicationBuilder()
            .token(token)
            .base_url(api_url)
            .base_file_url(file_url_for(api_url))
            .request(calls)
            .get_updates_request(polling)
            .concurrent_updates(PerChatUpdateProcessor(gate=flood))
            .updater(None)  # bot.channels.telegram_polling.Poller fetches the updates
            .build()
        )
        return cls(
            dispatcher,
            application,
            inbound,
            webhook=webhook,
            pacing=pacing,
            staff_changed=staff_changed,
            poll_timeout=poll_timeout,
            requests=(calls, polling),
            patience=patience,
            flood=flood,
        )

    @property
    def bot(self) -> Any:
        return self.application.bot

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, publish the command menus, then poll (or register the webhook).

        A rejected token raises `ChannelRefused` (no restart can help); a network that is down
        is retried with back-off until it comes back (or the app stops the start)."""
        await self._connect()
        await self.set_commands()
        if self.webhook is not None:
            await self.application.start()
            await self.bot.set_webhook(
                self.webhook.url,
                secret_token=self.webhook.secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: webhook mode as @%s", self.bot.username)
            return
        # Polling and a webhook exclude each other; a leftover webhook would block getUpdates.
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.application.start()
        self.poller.start()
        log.info("telegram: polling as @%s", self.bot.username)

    async def _connect(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.application.initialize()  # getMe: checks the token
                return
            except InvalidToken as exc:
                raise ChannelRefused(
                    f"telegram: the bot token {mask(self.bot.token)} was rejected"
                    " (revoked or mistyped?); get a new one from @BotFather"
                ) from exc
            except NetworkError as exc:
                log.warning(
                    "telegram: cannot reach the Bot API (%s); retrying in %.0f s",
                    exc.message,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    def routes(self) -> list[Route]:
        if self.webhook is None:
            return []
        return [Route("POST", self.webhook.path, self._webhook_request)]

    def counters(self) -> dict[str, int]:
        return {"updates_dropped": self.flood.dropped}

    async def _tell_too_fast(self, update: dict[str, Any]) -> None:
        """A dropped update: its member hears once per flood that some messages were not read."""
        inbound = self.to_inbound(update)
        chat = _chat_key(update)
        if inbound is None or chat is None or not self.flood.first_notice(chat):
            return
        locale = await self.dispatcher.locale_of(CHANNEL, inbound.user_id)
        text = self.dispatcher.text(locale, "fallback.too_fast")
        log.warning(
            "telegram: %s sends faster than it can be answered; dropping", member_ref(inbound)
        )
        with contextlib.suppress(TelegramError):
            await raw_call(self.bot, "sendMessage", {"chat_id": chat, "text": text})

    def health(self) -> dict[str, bool]:
        # Polling ends for good when Telegram rejects the token: /healthz must say so.
        if self.webhook is not None:
            return {}
        return {"telegram_polling": self.poller.running}

    async def _webhook_request(self, request: web.Request) -> web.Response:
        """One webhook call: the secret header is checked (403, nothing processed, otherwise),
        the update is put on python-telegram-bot's queue (its custom-webhook way), and Telegram
        is answered once the update is handled: until then Telegram keeps it and sends it again,
        so a crash loses no message."""
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            log.warning("telegram: webhook call with a wrong or missing secret refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(data, dict):
            return web.Response(status=400, text="not an update")
        update_id = data.get("update_id")
        if not isinstance(update_id, int):
            await self.application.update_queue.put(data)  # nothing to wait for by
            return web.Response(text="ok")
        waiting = self._webhook_waiting.get(update_id)
        if waiting is None:  # not a repeat of an update still in hand (Telegram's retry)
            waiting = asyncio.get_running_loop().create_future()
            self._webhook_waiting[update_id] = waiting
            await self.application.update_queue.put(data)
        # shield: a call Telegram gives up on must not cancel the wait of its repeat.
        await asyncio.shield(waiting)
        return web.Response(text="ok")

    async def _take(self, update: dict[str, Any], context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update, then release it (handled or failed: a failing update must not
        come back forever): polling may confirm it, its webhook call may be answered."""
        update_id = update.get("update_id")
        try:
            if isinstance(update_id, int) and self.flood.was_dropped(update_id):
                await self._tell_too_fast(update)
            else:
                await self._on_update(update, context)
        finally:
            if isinstance(update_id, int):
                self.poller.handled(update_id)
                waiting = self._webhook_waiting.pop(update_id, None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(None)

    async def stop(self) -> None:
        """Stop fetching and let in-flight updates finish (the bot can still send)."""
        await self.poller.stop()
        if self.application.running:
            await self.application.stop()
            await self.poller.confirm()  # what the queue held is handled now

    async def close(self) -> None:
        """Close the HTTP sessions; call after everything that sends has stopped."""
        await self.stop()
        await self.application.shutdown()
        for request in self._requests:
            await request.shutdown()

    def _commands(self, locale: str, staff_role: str | None) -> list[BotCommand]:
        return [
            BotCommand(name, text[:256])
            for name, text in self.dispatcher.command_menu(locale, staff_role)
        ]

    async def set_commands(self) -> None:
        """The command menu, from content: the default locale for everyone, others by language.

        Members never see staff commands; each staff member's own chat gets a menu with theirs.
        """
        locales, default = self.dispatcher.locales()
        for locale in locales:
            await self.bot.set_my_commands(
                self._commands(locale, None),
                language_code=None if locale == default else locale,
            )
        for user, role in await self.dispatcher.staff_on(CHANNEL):
            await self.staff_menu(user, role)

    async def staff_menu(self, user: Any, staff_role: str | None) -> None:
        """Give one staff member's private chat the commands of their role (or take them away)."""
        if user.channel != CHANNEL:
            return
        scope = BotCommandScopeChat(int(user.chat_id))
        with contextlib.suppress(TelegramError):
            if staff_role is None:
                await self.bot.delete_my_commands(scope=scope)
            else:
                await self.bot.set_my_commands(self._commands(user.locale, staff_role), scope=scope)

    # -- inbound --------------------------------------------------------------------------------
    def to_inbound(self, update: dict[str, Any]) -> Inbound | None:
        """Translate an update; None for what the bot ignores (group chatter, edits, ...)."""
        uid = str(update.get("update_id", ""))
        member = update.get("my_chat_member")
        if member is not None:
            if member["chat"]["type"] != ChatType.PRIVATE:
                return None
            banned = member["new_chat_member"]["status"] == ChatMemberStatus.BANNED
            kind = Kind.BLOCKED if banned else Kind.UNBLOCKED
            return Inbound(CHANNEL, str(member["from"]["id"]), kind, update_id=uid)

        query = update.get("callback_query")
        if query is not None:
            sender = query["from"]
            message = query.get("message")
            return Inbound(
                CHANNEL,
                str(sender["id"]),
                Kind.ACTION,
                chat_id=str(message["chat"]["id"] if message else sender["id"]),
                private=message is None or message["chat"]["type"] == ChatType.PRIVATE,
                text=query.get("data") or "",
                display_name=sender.get("first_name") or "",
                language_code=sender.get("language_code"),
                message_id=str(message["message_id"]) if message else None,
                update_id=uid,
            )

        message = update.get("message")
        sender = message.get("from") if message is not None else None
        if message is None or sender is None or sender.get("is_bot"):
            return None
        private = message["chat"]["type"] == ChatType.PRIVATE
        base = {
            "channel": CHANNEL,
            "user_id": str(sender["id"]),
            "chat_id": str(message["chat"]["id"]),
            "private": private,
            "display_name": sender.get("first_name") or "",
            "language_code": sender.get("language_code"),
            "update_id": uid,
        }
        text = message.get("text")
        if text is not None and text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            command, _, mention = head.partition("@")
            if not command or (mention and mention.lower() != (self.bot.username or "").lower()):
                return None  # addressed to another bot in a group
            return Inbound(kind=Kind.COMMAND, command=command.lower(), text=args.strip(), **base)
        if not private:
            return None  # in groups the bot answers only commands
        if text is not None:
            return Inbound(kind=Kind.TEXT, text=text, html=self._html(message, "text"), **base)
        photos = message.get("photo")
        document = message.get("document") or {}
        file_id = photos[-1]["file_id"] if photos else document.get("file_id", "")
        return Inbound(
            kind=Kind.MEDIA,
            media=_media_kind(message),
            media_id=file_id,
            html=self._html(message, "caption") if message.get("caption") else "",
            file_name=document.get("file_name") or "",
            file_size=int(document.get("file_size") or 0),
            download=partial(self._download, file_id) if document else None,
            **base,
        )

    async def _download(self, file_id: str) -> bytes:
        """A file a member sent (getFile, then the download)."""
        found = await self.bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    def _html(self, message: dict[str, Any], field: str) -> str:
        """A message's text or caption as HTML, its formatting (bold, links...) kept."""
        entities = "entities" if field == "text" else "caption_entities"
        if not message.get(entities):
            return html.escape(message[field])
        # Rare and intricate (nested entities, UTF-16 offsets): PTB's own rendering does it.
        parsed = Message.de_json(message, self.bot)
        return (parsed.text_html if field == "text" else parsed.caption_html) or ""

    async def _on_update(self, update: dict[str, Any], _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.get("callback_query")
        answered = False
        try:
            inbound = self.to_inbound(update)
            if inbound is None:
                return
            replies = await self.dispatcher.handle(inbound)
            if query is not None:  # stop the button's spinner before the answer arrives
                notice = next((r.notice for r in replies if r.notice), None)
                answered = True
                await self._answer(query["id"], notice)
            if inbound.kind not in (Kind.BLOCKED, Kind.UNBLOCKED):
                await self.deliver(inbound, replies)
        finally:
            if query is not None and not answered:
                await self._answer(query["id"], None)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        uid = update.get("update_id", "-") if isinstance(update, dict) else "-"
        log.error("telegram: update %s failed", uid, exc_info=context.error)

    # -- outbound -------------------------------------------------------------------------------
    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        chat_id = int(inbound.chat_id)
        may_edit = inbound.kind is Kind.ACTION and inbound.message_id is not None
        try:
            for reply in replies:
                edited = False
                plain_text = reply.image is None and reply.document is None and not reply.photo_id
                if may_edit and reply.edit and plain_text:
                    edited = await self._edit(chat_id, int(inbound.message_id or 0), reply)
                    may_edit = False  # only the pressed message is replaced, once
                if not edited:
                    await self.send(chat_id, reply)
        except Forbidden:
            log.info("telegram: %s blocked the bot", member_ref(inbound))
            await self.dispatcher.handle(Inbound(CHANNEL, inbound.user_id, Kind.BLOCKED))

    async def send(self, chat_id: int, reply: Reply) -> None:
        """Send one reply (photo/document first, then text split at clean boundaries)."""
        markup = keyboard(reply.buttons)
        text = reply.text or ""
        photo = reply.image if reply.image is not None else reply.photo_id
        if photo is not None or reply.document is not None:
            caption = text if len(text) <= CAPTION_LIMIT else None
            kwargs = {
                "caption": caption,
                "parse_mode": ParseMode.HTML if caption else None,
                "reply_markup": InlineKeyboardMarkup.de_json(markup, None)
                if markup is not None and (caption is not None or not text)
                else None,
            }
            if self.pacer is not None:
                self.pacer.note_interactive(str(chat_id))
            if photo is not None:
                name = reply.image_name if reply.image is not None else None
                await self._patiently(
                    "sendPhoto",
                    lambda: self.bot.send_photo(chat_id, photo=photo, filename=name, **kwargs),
                )
            if reply.document is not None:
                document, filename = reply.document, reply.document_name
                await self._patiently(
                    "sendDocument",
                    lambda: self.bot.send_document(
                        chat_id, document=document, filename=filename, **kwargs
                    ),
                )
            if caption is not None:
                return
        chunks = split_text(text, MESSAGE_LIMIT) if text else []
        for index, chunk in enumerate(chunks):
            params: dict[str, Any] = {
                "chat_id": chat_id,
                "text": chunk,
                "parse_mode": ParseMode.HTML,
                "link_preview_options": NO_PREVIEW,
            }
            if markup is not None and index == len(chunks) - 1:
                params["reply_markup"] = markup
            await self._call("sendMessage", params)

    async def _edit(self, chat_id: int, message_id: int, reply: Reply) -> bool:
        """Replace the pressed message; False when it cannot be (too long, too old, deleted)."""
        if len(reply.text) > MESSAGE_LIMIT or not reply.text:
            return False
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": reply.text,
            "parse_mode": ParseMode.HTML,
            "link_preview_options": NO_PREVIEW,
        }
        markup = keyboard(reply.buttons)
        if markup is not None:
            params["reply_markup"] = markup
        try:
            await self._call("editMessageText", params)
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True  # the member pressed the button showing what is already there
            log.info("telegram: cannot edit message %s (%s); sending anew", message_id, exc)
            return False
        return True

    async def _answer(self, query_id: str, notice: str | None) -> None:
        """Stop a pressed button's spinner, with a short notice when there is one."""
        params = {"callback_query_id": query_id} | ({"text": notice} if notice else {})
        with contextlib.suppress(TelegramError):
            await raw_call(self.bot, "answerCallbackQuery", params)

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        """Call the Bot API, waiting out one flood-limit answer, and an outage for a while
        (`Patience`), instead of losing the reply."""
        return await self._patiently(method, lambda: self._call_once(method, params))

    async def _patiently(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Try `call` again after transient errors (5xx, timeouts, refused connections), with
        back-off, for `patience.total` seconds. The member's chat waits meanwhile (its updates
        are handled in order); the other chats go on."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.patience.total
        pause = self.patience.first
        while True:
            try:
                return await call()
            except BadRequest:
                raise  # the API answered: trying again cannot help
            except NetworkError as exc:
                if loop.time() + pause > give_up:
                    raise
                log.info("telegram: %s failed (%s); trying again in %.1f s", what, exc, pause)
                await asyncio.sleep(pause)
                pause = min(self.patience.longest, pause * 2.0)

    async def _call_once(self, method: str, params: dict[str, Any]) -> Any:
        if self.pacer is not None:  # replies to chatting members go ahead of bulk sends
            self.pacer.note_interactive(str(params["chat_id"]))
        try:
            return await raw_call(self.bot, method, params)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            if seconds > MAX_RETRY_AFTER_S:
                raise
            await asyncio.sleep(seconds)
            return await raw_call(self.bot, method, params)


class TelegramSender:
    """The outbox's way into Telegram: one announcement to one chat, errors sorted by kind."""

    channel = CHANNEL
    reach_window = None

    def __init__(self, channel: TelegramChannel) -> None:
        self._channel = channel

    async def deliver(
        self, chat_id: str, html: str, *, photo: str | bytes | None = None, paid: bool = False
    ) -> Sent:
        bot = self._channel.bot
        extra = {"allow_paid_broadcast": True} if paid else {}
        text = {"chat_id": chat_id, "text": html, "parse_mode": ParseMode.HTML, **extra}
        try:
            if photo is not None:
                caption = html if len(html) <= CAPTION_LIMIT else None
                message = await bot.send_photo(
                    chat_id, photo, caption=caption, parse_mode=ParseMode.HTML, **extra
                )
                file_id = message.photo[-1].file_id if message.photo else None
                message_id = message.message_id
                if caption is None:
                    message_id = (await raw_call(bot, "sendMessage", text))["message_id"]
                return Sent(str(message_id), file_id if isinstance(photo, bytes) else None)
            return Sent(str((await raw_call(bot, "sendMessage", text))["message_id"]))
        except RetryAfter as exc:
            raise DeliveryError(Failure.RETRY_AFTER, str(exc), retry_seconds(exc)) from exc
        except Forbidden as exc:
            raise DeliveryError(Failure.BLOCKED, exc.message) from exc
        except BadRequest as exc:
            kind = (
                Failure.NOT_FOUND if "chat not found" in exc.message.lower() else Failure.PERMANENT
            )
            raise DeliveryError(kind, exc.message) from exc
        except NetworkError as exc:  # timeouts, connection errors and 5xx answers
            raise DeliveryError(Failure.TRANSIENT, f"{type(exc).__name__}: {exc.message}") from exc

    async def probe(self) -> None:
        """getMe: answered whenever the Bot API is up, whatever the chats."""
        try:
            await raw_call(self._channel.bot, "getMe", {})
        except BadRequest:
            return  # the API answered: it is up
        except NetworkError as exc:
            raise DeliveryError(Failure.TRANSIENT, f"{type(exc).__name__}: {exc.message}") from exc

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        params = {
            "chat_id": chat_id,
            "message_id": int(message_id),
            "text": html,
            "parse_mode": ParseMode.HTML,
        }
        with contextlib.suppress(BadRequest):  # "not modified" and the like: nothing to do
            await raw_call(self._channel.bot, "editMessageText", params)


async def raw_call(bot: Any, method: str, params: dict[str, Any]) -> Any:
    """A Bot API call through python-telegram-bot's own request path (same errors, same
    timeouts), with the JSON result as it came: a dict, or True.

    The typed methods (`bot.send_message`, ...) turn every answer into a `Message` object that
    the bot never reads; for the hot calls that was half the CPU of a call (measured: 320-400 us
    typed, 150-170 us raw; bench/README.md). PTB warns that typed methods exist: we know.
    """
    return await bot.do_api_request(method, api_kwargs=params)


def keyboard(rows: list[list[Button]]) -> dict[str, Any] | None:
    """An inline keyboard as the Bot API's JSON: a button opens its link or sends its action."""
    rows = [row for row in rows if row]
    if not rows:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": plain(b.text), "url": b.url}
                if b.url
                else {"text": plain(b.text), "callback_data": b.action}
                for b in row
            ]
            for row in rows
        ]
    }


def _media_kind(message: dict[str, Any]) -> str:
    for kind in ("photo", "sticker", "voice", "video", "video_note", "audio", "document"):
        if message.get(kind):
            return kind
    if "location" in message or "venue" in message:
        return "location"
    if "contact" in message:
        return "contact"
    return "other"


async def bot_username(token: str, api_url: str) -> str:
    """Ask the Bot API who we are (for links such as t.me/<username>)."""
    from telegram import Bot

    async with Bot(token, base_url=api_url, request=AiohttpRequest()) as bot:
        return bot.username
