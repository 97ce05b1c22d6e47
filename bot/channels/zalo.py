"""Zalo Official Account: signed webhook in, v3 customer-service messages out.

The same conversations as Telegram, behind the same core. Facts and their grades are in the
project's zalo-facts notes; the points still to confirm on a real OA are listed in the README.

- Inbound: `X-ZEvent-Signature` is `mac=` + SHA-256 (not HMAC) of app id + raw body + the body's
  `timestamp` + the OA secret key, compared in constant time; 401 and nothing processed otherwise.
  The webhook answers 200 at once and handles the event after; a repeated `msg_id` is dropped.
  Button presses arrive as `user_send_text` whose text is the button payload.
- Outbound: `POST /v3.0/oa/message/cs` with the `access_token` header; HTTP 200 with `error != 0`
  is a failure. An expired token (-216, -220 or HTTP 401) is refreshed once, under a lock, and the
  new pair is stored before it is used: a refresh token works only once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import unicodedata
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.core import choices as numbered_choices
from bot.core.channel import DeliveryError, Failure, Route, Sent, Vault
from bot.core.logs import hide, member_ref
from bot.core.messages import Button, Inbound, Kind, Reply
from bot.core.router import Dispatcher
from bot.core.text import plain, split_text

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TEXT_LIMIT = 2000
BUTTONS_LIMIT = 5
PAYLOAD_MARK = "\u2063"  # invisible: marks a button payload, which a person never types
EXPIRED_TOKEN = (-216, -220)
UNREACHABLE = (-230, -232, -213, -227, -244)  # the member cannot be messaged now: skip
RATE_LIMITED = -32
IGNORED_EVENTS = ("user_received_message", "user_seen_message")  # receipts; oa_send_* are echoes


class ZaloError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.message = message


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    digest = hashlib.sha256(
        app_id.encode() + raw_body + timestamp.encode() + oa_secret_key.encode()
    ).hexdigest()
    return f"mac={digest}"


class ZaloClient:
    """The OA Open API and OAuth over aiohttp, with the token pair kept in the database."""

    def __init__(self, settings: Any, vault: Vault) -> None:
        self.settings = settings
        self.meta = vault  # the current token pair survives restarts
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock = asyncio.Lock()
        self.refreshes = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        if await self.meta.get("zalo_access_token") is None:  # first start: the configured pair
            await self.meta.set("zalo_access_token", self.settings.zalo_access_token)
            await self.meta.set("zalo_refresh_token", self.settings.zalo_refresh_token)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _access_token(self) -> str:
        token = await self.meta.get("zalo_access_token") or ""
        hide(token)  # rotated tokens live in the database, not the settings: mask them too
        return token

    async def refresh(self, stale: str) -> None:
        """Exchange the refresh token once; concurrent callers wait and reuse the new pair."""
        async with self._refresh_lock:
            if await self._access_token() != stale:
                return  # someone refreshed while we waited
            refresh_token = await self.meta.get("zalo_refresh_token") or ""
            hide(refresh_token)
            assert self._session is not None
            async with self._session.post(
                f"{self.settings.zalo_oauth_url}/v4/oa/access_token",
                headers={"secret_key": self.settings.zalo_app_secret},
                data={
                    "refresh_token": refresh_token,
                    "app_id": self.settings.zalo_app_id,
                    "grant_type": "refresh_token",
                },
            ) as response:
                body = await response.json(content_type=None)
            if not isinstance(body, dict) or not body.get("access_token"):
                # OAuth failures come as HTTP 200 with error_name/error_description.
                raise ZaloError(
                    int(body.get("error", -1)) if isinstance(body, dict) else -1,
                    str(
                        body.get("error_description") or body.get("error_name")
                        if isinstance(body, dict)
                        else body
                    ),
                )
            hide(body["refresh_token"])
            hide(body["access_token"])
            # Stored before use: the old refresh token no longer works.
            await self.meta.set("zalo_refresh_token", body["refresh_token"])
            await self.meta.set("zalo_access_token", body["access_token"])
            self.refreshes += 1
            log.info("zalo: access token refreshed (valid %s s)", body.get("expires_in"))

    async def call(self, path: str, *, json_body: Any = None, data: Any = None) -> dict:
        """POST to the OA API; refreshes the token once on -216/-220/401 and retries once."""
        for attempt in (1, 2):
            token = await self._access_token()
            assert self._session is not None
            async with self._session.post(
                f"{self.settings.zalo_api_url}{path}",
                headers={"access_token": token},
                json=json_body,
                data=data,
            ) as response:
                status = response.status
                body = await response.json(content_type=None) if status != 401 else {}
            code = -216 if status == 401 else int(body.get("error", 0) or 0)
            if code in EXPIRED_TOKEN and attempt == 1:
                await self.refresh(token)
                continue
            if code != 0:
                raise ZaloError(code, str(body.get("message", "")))
            return body.get("data") or {}
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, user_id: str, message: dict) -> str:
        data = await self.call(
            "/v3.0/oa/message/cs", json_body={"recipient": {"user_id": user_id}, "message": message}
        )
        return str(data.get("message_id", ""))

    async def upload_image(self, image: bytes, name: str) -> str:
        form = aiohttp.FormData()
        form.add_field("file", image, filename=name, content_type="image/png")
        data = await self.call("/v2.0/oa/upload/image", data=form)
        return str(data["attachment_id"])


def _message(text: str, buttons: list[Button]) -> dict:
    message: dict[str, Any] = {"text": text}
    if buttons:
        message["attachment"] = {
            "type": "template",
            "payload": {
                "buttons": [
                    {"type": "oa.open.url", "title": b.text[:100], "payload": {"url": b.url}}
                    if b.url
                    else {
                        "type": "oa.query.hide",
                        "title": b.text[:100],
                        "payload": PAYLOAD_MARK + (b.action or ""),
                    }
                    for b in buttons
                ]
            },
        }
    return message


class ZaloChannel:
    """Webhook in, replies out; the same dispatcher as every other channel."""

    name = CHANNEL

    def __init__(self, dispatcher: Dispatcher, client: ZaloClient, settings: Any) -> None:
        self.dispatcher = dispatcher
        self.client = client
        self.settings = settings
        self.buttons = settings.zalo_buttons
        self.sender = ZaloSender(self)
        self._locks: dict[str, asyncio.Lock] = {}  # members with an event being handled
        self._waiting: defaultdict[str, int] = defaultdict(int)
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        return [Route("POST", self.settings.zalo_webhook_path, self.webhook)]

    def health(self) -> dict[str, bool]:
        return {}

    def counters(self) -> dict[str, int]:
        return {}

    async def start(self) -> None:
        await self.client.start()

    async def stop(self) -> None:
        """Let the events being handled finish (the webhook itself stops with the server)."""
        await self.drain()

    async def close(self) -> None:
        await self.client.close()

    # -- inbound --------------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            event = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            event = None
        if not isinstance(event, dict):
            return web.Response(status=400, text="not JSON")
        given = request.headers.get("X-ZEvent-Signature", "")
        expected = signature(
            self.settings.zalo_app_id,
            raw,
            str(event.get("timestamp", "")),
            self.settings.zalo_oa_secret_key,
        )
        if not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("zalo: webhook call with a wrong or missing signature refused")
            return web.Response(status=401, text="bad signature")
        if not _fresh(event.get("timestamp")):
            # A signed event replayed long after (or dated ahead): the signature proves who
            # sent it once, not that it is happening now. Zalo must not retry it: 200.
            log.warning(
                "zalo: an event dated %r is too old or too new; ignored", event.get("timestamp")
            )
            return web.Response(text="ignored")
        # Answer at once (Zalo retries after ~2 s); handle after, one member at a time.
        task = asyncio.create_task(self._process(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="ok")

    async def drain(self) -> None:
        """Wait for the events being handled (at stop, and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _process(self, event: dict) -> None:
        inbound = self.to_inbound(event)
        if inbound is None:
            return
        user = inbound.user_id
        lock = self._locks.setdefault(user, asyncio.Lock())
        self._waiting[user] += 1
        try:
            async with lock:
                if not await self.dispatcher.first_time_seen(CHANNEL, _event_key(event)):
                    return  # Zalo delivers at least once
                try:
                    replies = await self.dispatcher.handle(inbound)
                    if inbound.kind not in (Kind.BLOCKED,):
                        await self.deliver(inbound, replies)
                except Exception:
                    log.exception(
                        "zalo: event %s for %s failed", event.get("event_name"), member_ref(inbound)
                    )
        finally:
            # One lock per member writing right now, not per member ever seen.
            self._waiting[user] -= 1
            if not self._waiting[user]:
                del self._waiting[user]
                del self._locks[user]

    def to_inbound(self, event: dict) -> Inbound | None:
        name = str(event.get("event_name", ""))
        if name in IGNORED_EVENTS or name.startswith("oa_"):
            return None  # receipts and the OA's own echoes: answering them would loop
        if name in ("follow", "unfollow"):
            user = str((event.get("follower") or {}).get("id") or "")
            if not user:
                return None
            if name == "unfollow":
                return Inbound(CHANNEL, user, Kind.BLOCKED)
            return Inbound(
                CHANNEL,
                user,
                Kind.COMMAND,
                chat_id=user,
                command="start",
                update_id=str(event.get("timestamp", "")),
            )
        user = str((event.get("sender") or {}).get("id") or "")
        if not user or not name.startswith("user_send_"):
            return None
        base = {
            "channel": CHANNEL,
            "user_id": user,
            "chat_id": user,
            "update_id": str((event.get("message") or {}).get("msg_id", "")),
        }
        if name == "user_send_text":
            text = str((event.get("message") or {}).get("text") or "")
            if text.startswith(PAYLOAD_MARK):
                return Inbound(kind=Kind.ACTION, text=text[len(PAYLOAD_MARK) :], **base)
            if text.startswith("/") and len(text) > 1:
                head, _, args = text[1:].partition(" ")
                return Inbound(kind=Kind.COMMAND, command=head.lower(), text=args.strip(), **base)
            return Inbound(kind=Kind.TEXT, text=text, html=_escape(text), **base)
        return Inbound(kind=Kind.MEDIA, media=name.removeprefix("user_send_"), **base)

    # -- outbound -------------------------------------------------------------------------------
    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        if not replies:
            return
        if self.buttons:
            shown, kept = [], []
            locale = await self.dispatcher.locale_of(CHANNEL, inbound.user_id)
            more = self.dispatcher.text(locale, "buttons.more")
            for reply in replies:
                flat = [b for row in reply.buttons for b in row]
                visible, rest = numbered_choices.page(flat, BUTTONS_LIMIT, more)
                shown.append((reply, visible))
                kept += rest
            if kept:
                await self.dispatcher.remember_choices(
                    inbound, [[b.text, b.action or ""] for b in kept if b.action]
                )
            for reply, visible in shown:
                await self._send_reply(inbound.chat_id, reply, visible)
            return
        numbered, choices = numbered_choices.numbered(replies)
        await self.dispatcher.remember_choices(inbound, choices)
        for reply in numbered:
            await self._send_reply(inbound.chat_id, reply, [])

    async def _send_reply(self, user_id: str, reply: Reply, buttons: list[Button]) -> None:
        try:
            if reply.image is not None:
                attachment = await self.client.upload_image(reply.image, reply.image_name)
                await self.client.send(user_id, _media(attachment))
            chunks = split_text(_plain(reply.text), TEXT_LIMIT) if reply.text else []
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                await self.client.send(user_id, _message(chunk, buttons if last else []))
        except ZaloError as exc:
            log.warning("zalo: reply not sent (%s)", exc)


class ZaloSender:
    """The outbox's way into Zalo. A member more than 7 days silent cannot be messaged."""

    channel = CHANNEL
    reach_window = timedelta(days=7)  # Zalo's rule for customer-service messages

    def __init__(self, channel: ZaloChannel) -> None:
        self._channel = channel

    async def deliver(
        self, chat_id: str, html: str, *, photo: str | bytes | None = None, paid: bool = False
    ) -> Sent:
        client = self._channel.client
        try:
            if isinstance(photo, bytes):
                attachment = await client.upload_image(photo, "announcement.png")
                await client.send(chat_id, _media(attachment))
            message_id = ""
            for chunk in split_text(_plain(html), TEXT_LIMIT):
                message_id = await client.send(chat_id, {"text": chunk})
            return Sent(message_id)
        except ZaloError as exc:
            if exc.code in UNREACHABLE:
                raise DeliveryError(Failure.UNREACHABLE, f"zalo {exc.code}: {exc.message}") from exc
            if exc.code == RATE_LIMITED:
                raise DeliveryError(Failure.RETRY_AFTER, str(exc), 60.0) from exc
            if exc.code in EXPIRED_TOKEN:
                raise DeliveryError(Failure.TRANSIENT, str(exc)) from exc
            raise DeliveryError(Failure.PERMANENT, str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(Failure.TRANSIENT, f"{type(exc).__name__}: {exc}") from exc

    async def probe(self) -> None:
        """No cheap call tells Zalo is down: its sends count their attempts as before."""

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        """Zalo cannot edit a sent message; rather than a flood of progress messages, the sender
        gets the first progress line and the final report only."""


FRESH_FOR = timedelta(hours=24)  # Zalo retries a webhook for minutes, not days
AHEAD_BY = timedelta(minutes=5)  # clocks differ a little


def _fresh(timestamp: Any) -> bool:
    """Whether an event's `timestamp` (milliseconds) is recent enough to be a real event."""
    try:
        moment = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return False
    now = datetime.now(UTC)
    return now - FRESH_FOR <= moment <= now + AHEAD_BY


def _event_key(event: dict) -> str:
    """What makes an event the same event when Zalo delivers it again: its message id, or for
    a follow (which has none) who followed and when."""
    msg_id = str((event.get("message") or {}).get("msg_id") or "")
    if msg_id:
        return msg_id
    who = (event.get("follower") or event.get("sender") or {}).get("id", "")
    return f"{event.get('event_name', '')}:{who}:{event.get('timestamp', '')}"


def _plain(text: str) -> str:
    return unicodedata.normalize("NFC", plain(text))


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def _media(attachment_id: str) -> dict:
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "attachment_id": attachment_id}],
            },
        }
    }
