"""Zalo Bot Platform (`zalobot`): a Zalo account's bot with a Telegram-like API, but not Telegram.

Facts and their grades are in the project's zalo-bot-platform-facts notes; what must still be
confirmed against a real bot is listed in the README. The differences that shape this module:

- `getUpdates` takes only `timeout`, returns ONE update (not a list), has no offset and consumes
  the update when it answers: events are at most once. So the poller hands each event to its
  member's turn and waits until the event is handled (its effects stored) before polling again;
  replies may still be going out meanwhile. A `408` means "nothing came": poll again at once.
- A webhook (`setWebhook` with a secret) instead of polling: every POST must carry
  `X-Bot-Api-Secret-Token` equal to the secret (compared in constant time; else 403 and nothing
  stored). Bodies come flat (`{event_name, message}`) or wrapped (`{ok, result}`): both taken.
- The bot's own sends come back as events: dropped (`from.id` is the bot's `getMe` id), and so are
  repeats of a `message_id` already handled.
- No buttons, callbacks or edits: choices are numbered (the core's numbered choices), an edit is a
  new message, and text is plain, cut at 2,000 characters on paragraph boundaries.
- Photos go out by URL only: the bot's own web server publishes them (`PictureHost`); without a
  public address a picture is replaced by its text.
- Errors come as `ok:false` (often on HTTP 200): every one is an error. 401 (token reset in Bot
  Creator) stops the channel and turns /healthz red; 429 (quota, no retry_after) pauses the
  outbox with a growing back-off; staff are told of both.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.core import choices as numbered_choices
from bot.core.channel import (
    ChannelRefused,
    DeliveryError,
    Failure,
    Pacing,
    PictureHost,
    Route,
    Sent,
)
from bot.core.logs import mask, member_ref
from bot.core.messages import Inbound, Kind, Reply
from bot.core.router import Dispatcher
from bot.core.text import plain, split_text

log = logging.getLogger(__name__)

CHANNEL = "zalobot"
TEXT_LIMIT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
EMPTY, UNAUTHORIZED, QUOTA = 408, 401, 429
# Zalo's event kinds -> the kernel's media names (Telegram's words, as handlers know them).
MEDIA_KINDS = {
    "image": "photo",
    "sticker": "sticker",
    "voice": "voice",
    "unsupported": "unsupported",
}
QUOTA_BACKOFF = (30.0, 60.0, 120.0, 300.0, 900.0)  # seconds; Zalo gives no retry_after
ALERT_EVERY_S = 3600.0  # staff hear of the same trouble at most once an hour
Alert = Callable[[str], Awaitable[None]]  # "quota" | "token_revoked" -> staff are told


class ZaloBotError(Exception):
    """An `ok:false` answer (or an HTTP error) from the Bot Platform."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"zalobot error {code}: {description}")
        self.code = code
        self.description = description


class TokenRejected(ZaloBotError):
    """401: the token was reset in Bot Creator (or mistyped)."""


class ZaloBotClient:
    """`POST <api>/bot<token>/<method>` with JSON parameters; the envelope unwrapped."""

    def __init__(self, token: str, api_url: str, *, read_timeout: float = 10.0) -> None:
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """The `result` of a call; `ZaloBotError` for any `ok:false` or HTTP error, whatever the
        HTTP status (business errors are reported to come as HTTP 200)."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        wait = aiohttp.ClientTimeout(total=timeout or self.read_timeout)
        async with self._session.post(
            f"{self.api_url}/bot{self.token}/{method}", json=params or {}, timeout=wait
        ) as response:
            status = response.status
            try:
                body = await response.json(content_type=None)
            except (json.JSONDecodeError, UnicodeDecodeError, aiohttp.ContentTypeError):
                body = None
        if not isinstance(body, dict):
            body = {"ok": False, "error_code": status, "description": f"HTTP {status}"}
        if body.get("ok") is True and status < 400:
            return body.get("result")
        code = _code(body.get("error_code"), status)
        description = str(body.get("description") or f"HTTP {status}")
        if code == UNAUTHORIZED or status == UNAUTHORIZED:
            raise TokenRejected(UNAUTHORIZED, description)
        raise ZaloBotError(code, description)


def _code(value: Any, status: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return status if status >= 400 else 0


@dataclass(frozen=True)
class ZaloBotWebhook:
    """Webhook mode: Zalo POSTs events to `url` with `secret` in `X-Bot-Api-Secret-Token`."""

    url: str
    secret: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


class ZaloBotChannel:
    """Polling (or a webhook) in, numbered plain-text replies out; the same dispatcher as every
    other channel. Each member's events are handled one at a time, in order; members at once."""

    name = CHANNEL

    def __init__(
        self,
        dispatcher: Dispatcher,
        client: ZaloBotClient,
        *,
        webhook: ZaloBotWebhook | None = None,
        pictures: PictureHost | None = None,
        pacing: Pacing | None = None,
        alert: Alert | None = None,
        poll_timeout: float = 30.0,
        retry_first: float = 1.0,
        retry_longest: float = 60.0,
        patience: float = 180.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.client = client
        self.webhook = webhook
        self.pictures = pictures
        self.pacer = pacing
        self.alert = alert
        self.poll_timeout = poll_timeout
        self.retry_first = retry_first
        self.retry_longest = retry_longest
        self.patience = patience  # how long a reply to a chatting member keeps trying
        self.sender = ZaloBotSender(self)
        self.bot_id = ""
        self.revoked = False
        self.counts = {"echoes_dropped": 0, "repeats_dropped": 0}
        self._poller: asyncio.Task | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: defaultdict[str, int] = defaultdict(int)
        self._sent: dict[str, asyncio.Future[None]] = {}  # member -> their latest replies out
        self._turns: set[asyncio.Task] = set()
        self._quota_strikes = 0
        self._alerted: dict[str, float] = {}
        self._told_no_pictures = False

    # -- lifecycle ------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        if self.webhook is None:
            return []
        return [Route("POST", self.webhook.path, self._webhook_request)]

    def health(self) -> dict[str, bool]:
        # A reset token ends the channel for good: /healthz must say so until someone acts.
        polling = self.webhook is not None or (self._poller is not None and not self._poller.done())
        return {"zalobot": not self.revoked and polling}

    def counters(self) -> dict[str, int]:
        return dict(self.counts)

    async def start(self) -> None:
        """Check the token (getMe), then register the webhook or start polling. A rejected token
        raises `ChannelRefused`; a network that is down is retried with back-off."""
        await self.client.start()
        delay = self.retry_first
        while True:
            try:
                me = await self.client.call("getMe")
                break
            except TokenRejected as exc:
                self.revoked = True
                raise ChannelRefused(
                    f"zalobot: the bot token {mask(self.client.token)} was rejected (reset in"
                    " Zalo Bot Creator, or mistyped?); put the new one in ZALO_BOT_TOKEN"
                ) from exc
            except (ZaloBotError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("zalobot: cannot reach the Bot Platform (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_longest)
        self.bot_id = str((me or {}).get("id", ""))
        if self.webhook is not None:
            try:
                await self.client.call(
                    "setWebhook", {"url": self.webhook.url, "secret_token": self.webhook.secret}
                )
            except ZaloBotError as exc:  # e.g. a private or plain-http address: a setting to fix
                raise ChannelRefused(
                    f"zalobot: Zalo refused ZALO_BOT_WEBHOOK_URL {self.webhook.url}"
                    f" ({exc.description}); it must be a public https:// address"
                ) from exc
            log.info("zalobot: webhook mode as bot %s", self.bot_id)
            return
        # Polling and a webhook exclude each other; deleteWebhook is refused when none is set.
        info = await self.client.call("getWebhookInfo")
        if isinstance(info, dict) and info.get("url"):
            await self.client.call("deleteWebhook")
        self._poller = asyncio.create_task(self._poll(), name="zalobot-poll")
        log.info("zalobot: polling as bot %s", self.bot_id)

    async def stop(self) -> None:
        """No more polling; the events in hand finish (and may still send)."""
        poller, self._poller = self._poller, None
        if poller is not None:
            # An update the platform answered while we cancel is lost: the platform's rule
            # (updates are consumed on answer), said in the README.
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await self.drain()

    async def close(self) -> None:
        await self.stop()
        await self.client.close()

    async def drain(self) -> None:
        """Wait for the member turns in hand (at stop, and in tests)."""
        while self._turns:
            await asyncio.gather(*list(self._turns), return_exceptions=True)

    # -- inbound --------------------------------------------------------------------------------
    async def _poll(self) -> None:
        delay = self.retry_first
        while True:
            try:
                event = await self.client.call(
                    "getUpdates",
                    {"timeout": str(int(self.poll_timeout))},
                    timeout=self.poll_timeout + 10.0,
                )
            except TokenRejected:
                await self.token_rejected()
                return
            except ZaloBotError as exc:
                if exc.code == EMPTY:
                    delay = self.retry_first
                    continue  # nothing came within the timeout: the normal answer
                if exc.code == QUOTA:
                    await self.quota_exceeded()
                log.warning("zalobot: getUpdates failed (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_longest)
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("zalobot: cannot poll (%r); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_longest)
                continue
            delay = self.retry_first
            if isinstance(event, list):  # one update per call is documented; a list is taken too
                for one in event:
                    await self.take(one)
            elif isinstance(event, dict):
                await self.take(event)

    async def _webhook_request(self, request: web.Request) -> web.Response:
        """One webhook call: the secret is checked first (403, nothing read or stored, when it is
        wrong or missing); answered once the event is handled."""
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            log.warning("zalobot: webhook call with a wrong or missing secret refused")
            return web.Response(status=403, text="forbidden")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        event = _unwrap(body)
        if event is None:
            return web.Response(status=400, text="not an event")
        await self.take(event)
        return web.json_response({"ok": True})

    async def take(self, event: dict[str, Any]) -> None:
        """Hand one event to its member's turn; return once it is handled (what it changed is
        stored), so the next poll cannot lose it. Its replies may still be on their way."""
        inbound = self.to_inbound(event)
        if inbound is None:
            return
        handled = asyncio.get_running_loop().create_future()
        turn = asyncio.create_task(self._turn(inbound, handled))
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)
        await asyncio.wait({handled, turn}, return_when=asyncio.FIRST_COMPLETED)

    async def _turn(self, inbound: Inbound, handled: asyncio.Future[None]) -> None:
        """One event of a member: handled after their previous one (the lock), its replies sent
        after the previous one's (the chain of `sent` futures). The handling lock is let go
        before sending, so a member whose replies are still going out never holds up polling."""
        user = inbound.user_id
        before = self._sent.get(user)
        sent = asyncio.get_running_loop().create_future()
        self._sent[user] = sent
        lock = self._locks.setdefault(user, asyncio.Lock())
        self._waiting[user] += 1
        try:
            async with lock:
                try:
                    if not await self.dispatcher.first_time_seen(CHANNEL, inbound.update_id):
                        self.counts["repeats_dropped"] += 1
                        return
                    if inbound.kind is Kind.TEXT and await self.dispatcher.first_contact(
                        CHANNEL, user
                    ):
                        # No "follow" or start event exists: a first message is a /start.
                        inbound = replace(inbound, kind=Kind.COMMAND, command="start", text="")
                    replies = await self.dispatcher.handle(inbound)
                finally:
                    if not handled.done():
                        handled.set_result(None)
            if before is not None:
                await before  # the replies to their previous message go first
            await self.deliver(inbound, replies)
        except Exception:
            log.exception("zalobot: event %s of %s failed", inbound.update_id, member_ref(inbound))
        finally:
            sent.set_result(None)
            self._waiting[user] -= 1
            if not self._waiting[user]:  # one lock per member writing now, not per member seen
                del self._waiting[user]
                del self._locks[user]
                del self._sent[user]

    def to_inbound(self, event: dict[str, Any]) -> Inbound | None:
        """Translate an event; None for echoes of the bot's own sends and what it ignores."""
        message = event.get("message")
        if not isinstance(message, dict):
            return None
        sender = message.get("from") or {}
        user = str(sender.get("id") or "")
        message_id = str(message.get("message_id") or "")
        if not user or not message_id:
            return None
        if user == self.bot_id or sender.get("is_bot"):
            self.counts["echoes_dropped"] += 1
            return None
        chat = message.get("chat") or {}
        private = str(chat.get("chat_type") or "PRIVATE").upper() == "PRIVATE"
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "user_id": user,
            "chat_id": str(chat.get("id") or user),
            "private": private,
            "display_name": str(sender.get("display_name") or ""),
            "update_id": message_id,
        }
        kind = str(event.get("event_name") or "").removeprefix("message.").removesuffix(".received")
        text = message.get("text")
        if kind == "text" and isinstance(text, str):
            if text.startswith("/") and len(text) > 1:
                head, _, args = text[1:].partition(" ")
                return Inbound(kind=Kind.COMMAND, command=head.lower(), text=args.strip(), **base)
            if not private:
                return None  # in a group the bot answers commands only
            return Inbound(kind=Kind.TEXT, text=text, html=html.escape(text, quote=False), **base)
        if not private:
            return None
        return Inbound(kind=Kind.MEDIA, media=MEDIA_KINDS.get(kind, "other"), **base)

    # -- outbound -------------------------------------------------------------------------------
    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        if not replies or inbound.kind is Kind.BLOCKED:
            return
        numbered, choices = numbered_choices.numbered(replies)
        await self.dispatcher.remember_choices(inbound, choices)
        try:
            for reply in numbered:
                await self.send(inbound.chat_id, reply)
        except TokenRejected:
            await self.token_rejected()
        except ZaloBotError as exc:
            if exc.code == QUOTA:
                await self.quota_exceeded()
            log.warning("zalobot: reply to %s not sent (%s)", member_ref(inbound), exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("zalobot: reply to %s not sent (%r)", member_ref(inbound), exc)

    async def send(self, chat_id: str, reply: Reply, *, interactive: bool = True) -> str:
        """One reply: its picture by URL (when it has one and the server is public), then its
        text cut at 2,000 characters. Returns the last message id. A reply to a chatting
        member (`interactive`) goes ahead of bulk sends."""
        if interactive and self.pacer is not None:
            self.pacer.note_interactive(chat_id)
        message_id = ""
        # A chatting member's reply waits out a short outage; bulk sends leave that to the outbox.
        call = self._patiently if interactive else self.client.call
        if reply.image is not None:
            url = await self.publish(reply.image, reply.image_name)
            if url is not None:
                result = await call("sendPhoto", {"chat_id": chat_id, "photo": url})
                message_id = _message_id(result)
        if reply.document is not None:  # no file sending on the platform: its words go alone
            log.info("zalobot: %s cannot be sent as a file on Zalo Bot", reply.document_name)
        for chunk in split_text(text_of(reply.text), TEXT_LIMIT) if reply.text else []:
            result = await call("sendMessage", {"chat_id": chat_id, "text": chunk})
            message_id = _message_id(result)
        return message_id

    async def _patiently(self, method: str, params: dict[str, Any]) -> Any:
        """A call tried again after transient failures (timeouts, refused connections, 5xx, 403
        "internal error", 408), with back-off, for `patience` seconds in all. Only this member's
        replies wait meanwhile."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.patience
        pause = self.retry_first
        while True:
            try:
                return await self.client.call(method, params)
            except TokenRejected:
                raise
            except ZaloBotError as exc:
                if _failure(exc.code) is not Failure.TRANSIENT or loop.time() + pause > give_up:
                    raise
                problem: str = str(exc)
            except (aiohttp.ClientError, TimeoutError) as exc:
                if loop.time() + pause > give_up:
                    raise
                problem = repr(exc)
            log.info("zalobot: %s failed (%s); trying again in %.1f s", method, problem, pause)
            await asyncio.sleep(pause)
            pause = min(self.retry_longest, pause * 2.0)

    async def publish(self, picture: bytes, name: str) -> str | None:
        """The picture's URL on the bot's own server, or None (its text goes alone)."""
        url = await self.pictures.publish(picture, name) if self.pictures is not None else None
        if url is None and not self._told_no_pictures:
            self._told_no_pictures = True
            log.info("zalobot: pictures are sent as their text: PUBLIC_BASE_URL is not set")
        return url

    # -- trouble ----------------------------------------------------------------------------------
    async def token_rejected(self) -> None:
        """401 while running: the token was reset. Polling ends, /healthz turns red, staff hear."""
        if self.revoked:
            return
        self.revoked = True
        log.error(
            "zalobot: the bot token %s was rejected (reset in Zalo Bot Creator?); the channel"
            " stops until ZALO_BOT_TOKEN is changed and the bot restarted",
            mask(self.client.token),
        )
        if self._poller is not None and self._poller is not asyncio.current_task():
            self._poller.cancel()
        await self._tell_staff("token_revoked")

    async def quota_exceeded(self) -> float:
        """429: how long bulk sends wait now (longer each time in a row); staff hear once an
        hour."""
        wait = QUOTA_BACKOFF[min(self._quota_strikes, len(QUOTA_BACKOFF) - 1)]
        self._quota_strikes += 1
        log.warning("zalobot: quota reached (429); bulk sends wait %.0f s", wait)
        await self._tell_staff("quota")
        return wait

    def quota_ok(self) -> None:
        self._quota_strikes = 0

    async def _tell_staff(self, what: str) -> None:
        now = time.monotonic()
        if self.alert is None or now - self._alerted.get(what, -ALERT_EVERY_S) < ALERT_EVERY_S:
            return
        self._alerted[what] = now
        try:
            await self.alert(what)
        except Exception:  # telling staff must never take the channel down with it
            log.exception("zalobot: could not tell staff of %s", what)


class ZaloBotSender:
    """The outbox's way into the Bot Platform: plain text in 2,000-character pieces, a picture
    by URL; errors sorted into the kinds the worker knows."""

    channel = CHANNEL
    # Whether the platform limits when a bot may write after a member's last message is unknown
    # (README: to confirm); none is assumed.
    reach_window = None

    def __init__(self, channel: ZaloBotChannel) -> None:
        self._channel = channel

    async def deliver(
        self, chat_id: str, html: str, *, photo: str | bytes | None = None, paid: bool = False
    ) -> Sent:
        channel = self._channel
        if channel.revoked:
            raise DeliveryError(Failure.TRANSIENT, "zalobot: token rejected")
        # A photo given as text is another platform's file id: not a URL Zalo could fetch.
        picture = photo if isinstance(photo, bytes) else None
        try:
            message_id = await channel.send(
                chat_id, Reply(text=html, image=picture), interactive=False
            )
        except TokenRejected as exc:
            await channel.token_rejected()
            raise DeliveryError(Failure.TRANSIENT, "zalobot: token rejected") from exc
        except ZaloBotError as exc:
            if exc.code == QUOTA:
                wait = await channel.quota_exceeded()
                raise DeliveryError(Failure.RETRY_AFTER, str(exc), wait) from exc
            raise DeliveryError(_failure(exc.code), str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(Failure.TRANSIENT, f"{type(exc).__name__}: {exc}") from exc
        channel.quota_ok()
        return Sent(message_id)

    async def probe(self) -> None:
        """getMe: answered whenever the platform is up. A rejected token counts as down: the
        outbox waits (until the announcement expires) for someone to set a new one."""
        try:
            await self._channel.client.call("getMe")
        except TokenRejected as exc:
            await self._channel.token_rejected()
            raise DeliveryError(Failure.TRANSIENT, "zalobot: token rejected") from exc
        except ZaloBotError:
            return  # it answered
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(Failure.TRANSIENT, f"{type(exc).__name__}: {exc}") from exc

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        """The platform cannot edit: the sender gets the first progress line and the final
        report only, not a flood of progress messages."""


def _failure(code: int) -> Failure:
    # 403 is Zalo's "Internal server error"; 408 a timeout: both worth another try.
    if code in (403, 408) or code >= 500:
        return Failure.TRANSIENT
    if code == 404:
        return Failure.NOT_FOUND
    return Failure.PERMANENT


def _unwrap(body: Any) -> dict[str, Any] | None:
    """The event of a webhook body: flat `{event_name, message}` (real deliveries) or wrapped
    `{ok, result: {...}}` (as the docs show)."""
    if not isinstance(body, dict):
        return None
    if "event_name" not in body and isinstance(body.get("result"), dict):
        body = body["result"]
    return body if "event_name" in body else None


def _message_id(result: Any) -> str:
    return str(result.get("message_id", "")) if isinstance(result, dict) else ""


_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL)


def text_of(markup: str) -> str:
    """What the Bot Platform shows: no markup (a link keeps its address after its words),
    Unicode NFC."""
    linked = _LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[1] != m[2] else m[1], markup)
    return unicodedata.normalize("NFC", plain(linked))
