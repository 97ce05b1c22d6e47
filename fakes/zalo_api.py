"""A fake Zalo Official Account Open API + OAuth server speaking real HTTP, and a webhook client.

:class:`FakeZaloOA` runs an :mod:`aiohttp.web` server on ``127.0.0.1`` (port chosen by the OS)
that answers like ``https://openapi.zalo.me`` (customer-service sends, image uploads) and
``https://oauth.zaloapp.com`` (access-token refresh) do, per ``/work/shared/zalo-facts.md``::

    async with FakeZaloOA() as fake:
        adapter = ZaloAdapter(api_url=fake.api_url, oauth_url=fake.oauth_url, ...)
        fake.expire_token()
        ...
        [reply] = await fake.wait_for_messages("8001", 1)
        assert reply["message"]["text"] == "..."

Fidelity notes:

* Every answer of the OA API is HTTP 200; success is ``{"data": ..., "error": 0, ...}``, failure
  is ``{"error": <negative>, "message": ...}`` without ``data``. Tokens travel in a bare
  ``access_token`` header (not ``Authorization``, not the query string).
* A send is checked in this order: access token (-216), scripted failures (:meth:`fail_next`),
  message shape (-201), the 7-day interaction window (-230).
* Refresh tokens are single use: a refresh rotates both tokens, the old refresh token then
  answers -14020 and the old access token -216. OAuth failures are HTTP 200 with
  ``error_name``/``error_reason``/``error_description`` and a numeric ``error``.
* With ``response_delay`` a request is processed (state changed, call recorded) on arrival and
  answered ``response_delay`` seconds later, without blocking other requests: a second refresh
  arriving meanwhile sees the rotated state, as on the real server.
* ``wait_for`` wakes on every request and every answer, so tests never need polling sleeps.

The module-level helpers build webhook events shaped like Zalo's (ids and timestamps as
strings) and sign them the documented way: ``X-ZEvent-Signature: mac=<hex>`` with
``sha256(app_id + raw_body + timestamp + oa_secret_key)`` (plain SHA-256, not HMAC).
:class:`ZaloWebhookClient` posts them to the bot's webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from fakes.local_server import LocalServer

__all__ = [
    "SIGNATURE_HEADER",
    "FakeZaloOA",
    "ZaloWebhookClient",
    "echo_event",
    "follow_event",
    "image_event",
    "receipt_event",
    "sign",
    "signed_event",
    "text_event",
    "unfollow_event",
]

JSON = dict[str, Any]

SIGNATURE_HEADER = "X-ZEvent-Signature"

SEND_PATH = "/v3.0/oa/message/cs"
UPLOAD_IMAGE_PATH = "/v2.0/oa/upload/image"
ACCESS_TOKEN_PATH = "/v4/oa/access_token"

MAX_TEXT_LENGTH = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_QUERY_PAYLOAD = 1000
INTERACTION_WINDOW_MS = 7 * 24 * 3600 * 1000
EXPIRES_IN = "90000"  # seconds, as a string (25 hours)

#: Default ``message`` of an error envelope, by code (zalo-facts §2 error table).
ERROR_MESSAGES: dict[int, str] = {
    -32: "The OA has reached limit call api",
    -201: "Parameters are invalid",
    -204: "Official Account is disabled",
    -205: "Official Account does not exist",
    -209: "Not supported this api",
    -211: "Out of quota",
    -212: "App has not registered this API",
    -213: "User has not followed OA",
    -216: "Access token is invalid",
    -218: "Out of quota receive",
    -220: "access_token is expired or removed",
    -221: "Official Account must be verified",
    -224: "Official Account must upgrade tier package",
    -227: "User has been banned or has been inactive for more than 45 days",
    -230: "User has not interacted with the OA in the past 7 days",
    -232: "User has not interacted or the last interaction has expired",
    -233: "Message type is invalid or not supported",
    -234: "Promotional messages cannot be sent at night",
    -240: "MessageV2 API has been shut down, please switch to MessageV3",
    -242: "Invalid appsecret_proof",
    -244: "User has restricted this message type from the OA",
}

_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_BUTTON_KEYS = frozenset({"type", "title", "payload", "image_icon"})
_QUERY_BUTTONS = frozenset({"oa.query.show", "oa.query.hide"})
_BUTTON_PAYLOAD_FIELDS: dict[str, tuple[str, ...]] = {
    "oa.open.url": ("url",),
    "oa.open.phone": ("phone_code",),
    "oa.open.sms": ("content", "phone_code"),
}


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A -201 "<field> is invalid" answer."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is invalid")
        self.field = field


@dataclass
class _ScriptedFailure:
    code: int
    message: str
    user_id: str | None
    remaining: int


def _error(code: int, message: str | None = None) -> JSON:
    return {"error": code, "message": message or ERROR_MESSAGES.get(code, "Unknown error")}


def _oauth_error(code: int, name: str, reason: str) -> JSON:
    return {
        "error_name": name,
        "error_reason": reason,
        "error_description": reason,
        "error": code,
    }


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


@dataclass(frozen=True)
class _Upload:
    filename: str | None
    content_type: str
    data: bytes


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeZaloOA(LocalServer):
    """An in-process Zalo OA Open API + OAuth server for one app and one OA.

    State tests can read (and set): ``access_token``/``refresh_token`` (the currently valid
    pair), ``refreshes`` (successful refreshes), ``sent`` (accepted send bodies with the
    assigned ``message_id`` added), ``calls`` (``(path, headers, body)`` for every request,
    ``headers`` holding whichever of ``access_token``/``secret_key`` were sent), ``uploads``
    (the bytes of every accepted image upload) and ``response_delay``.
    """

    def __init__(
        self,
        *,
        app_id: str = "1234567890",
        oa_id: str = "5550001",
        app_secret: str = "app-secret",
        oa_secret_key: str = "oa-secret-key",
        access_token: str = "AT-1",
        refresh_token: str = "RT-1",
        response_delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self.oa_id = oa_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.response_delay = response_delay

        # Observations.
        self.refreshes = 0
        self.sent: list[JSON] = []
        self.calls: list[tuple[str, dict, dict]] = []
        self.uploads: list[bytes] = []

        # Server state.
        self._changed = asyncio.Event()
        self._expired_tokens: set[str] = set()
        self._token_serial = itertools.count(2)
        self._message_serial = itertools.count(1)
        self._attachment_serial = itertools.count(1)
        self._attachments: set[str] = set()
        self._last_interaction: dict[str, int] = {}
        self._failures: list[_ScriptedFailure] = []
        self._routes: dict[str, Callable[[dict, JSON, dict[str, _Upload], str], JSON]] = {
            SEND_PATH: self._send_cs,
            UPLOAD_IMAGE_PATH: self._upload_image,
            ACCESS_TOKEN_PATH: self._access_token,
        }

    # ---------------------------------------------------------------- lifecycle

    @property
    def api_url(self) -> str:
        """Stands for ``https://openapi.zalo.me`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def oauth_url(self) -> str:
        """Stands for ``https://oauth.zaloapp.com`` (the same server as :attr:`api_url`)."""
        return f"http://127.0.0.1:{self.port}"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    # ---------------------------------------------------------------- scripting

    def fail_next(
        self,
        code: int,
        message: str | None = None,
        *,
        user_id: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` sends (only those to ``user_id``, if given) with the error
        envelope ``{"error": code, "message": message}`` (HTTP 200). ``message`` defaults to
        Zalo's wording for known codes. Sends with an invalid token do not consume it."""
        if times < 1:
            raise ValueError("times must be at least 1")
        text = message or ERROR_MESSAGES.get(code, "Scripted failure")
        self._failures.append(_ScriptedFailure(code, text, user_id, times))

    def expire_token(self) -> None:
        """The current access token now answers -216; the refresh token still works."""
        self._expired_tokens.add(self.access_token)

    def set_last_interaction(self, user_id: str, when_ms: int) -> None:
        """Record ``user_id``'s last interaction with the OA (epoch ms). Sends to users whose
        last interaction is more than 7 days ago answer -230; users never set (including
        unknown ones) count as having interacted just now."""
        self._last_interaction[str(user_id)] = int(when_ms)

    # ---------------------------------------------------------------- observing

    def messages_to(self, user_id: str) -> list[JSON]:
        """Accepted send bodies (with ``message_id``) to ``recipient.user_id == user_id``."""
        return [m for m in self.sent if m["recipient"]["user_id"] == str(user_id)]

    def calls_to(self, path: str) -> list[tuple[dict, dict]]:
        """``(headers, body)`` of every request to ``path``, in order."""
        return [(headers, body) for p, headers, body in self.calls if p == path]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        description: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` is true, re-checking after every request and answer.

        Raises:
            TimeoutError: naming the condition and listing the latest requests.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                what = description or getattr(predicate, "__qualname__", repr(predicate))
                recent = [path for path, _, _ in self.calls[-8:]]
                raise TimeoutError(
                    f"FakeZaloOA: condition not met within {timeout}s: {what}; "
                    f"last requests: {recent}"
                )
            await self._wait_changed(remaining)

    async def wait_for_messages(self, user_id: str, count: int, timeout: float = 5.0) -> list[JSON]:
        """Wait until at least ``count`` sends to ``user_id`` were accepted; return them all."""
        await self.wait_for(
            lambda: len(self.messages_to(user_id)) >= count,
            timeout,
            description=(
                f"{count} message(s) to user {user_id} (currently {len(self.messages_to(user_id))})"
            ),
        )
        return self.messages_to(user_id)

    # ---------------------------------------------------------------- change notification

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_changed(self, seconds: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up early when the server is stopping."""
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    # ---------------------------------------------------------------- HTTP layer

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {
            name: request.headers[name]
            for name in ("access_token", "secret_key")
            if name in request.headers
        }
        body, files = await self._read_body(request)
        self.calls.append((request.path, headers, body))
        self._notify()
        handler = self._routes.get(request.path)
        if handler is None or request.method != "POST":
            return web.json_response({"error": 404, "message": "Not Found"}, status=404)
        delay = self.response_delay
        try:
            answer = handler(headers, body, files, request.content_type)
        finally:
            self._notify()
        if delay > 0:
            await self._pause(delay)
        return web.json_response(answer)

    async def _read_body(self, request: web.Request) -> tuple[JSON, dict[str, _Upload]]:
        """The body as a dict (JSON object, or form/multipart fields; file parts appear as
        ``{"filename", "content_type", "size"}`` and their bytes in the second item). A body
        that is not a JSON object is recorded as ``{"_raw": <text>}``."""
        files: dict[str, _Upload] = {}
        if not request.can_read_body:
            return {}, files
        if request.content_type in _FORM_TYPES:
            body: JSON = {}
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    files[key] = _Upload(value.filename, value.content_type, data)
                    body[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(data),
                    }
                else:
                    body[key] = value if isinstance(value, str) else bytes(value).decode()
            return body, files
        text = await request.text()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed, files
        return {"_raw": text}, files

    def _token_ok(self, headers: Mapping[str, str]) -> bool:
        token = headers.get("access_token")
        return token == self.access_token and token not in self._expired_tokens

    # ---------------------------------------------------------------- endpoints

    def _send_cs(
        self, headers: dict, body: JSON, files: dict[str, _Upload], content_type: str
    ) -> JSON:
        if not self._token_ok(headers):
            return _error(-216)
        recipient = body.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id:
            return _error(-201, "recipient.user_id is invalid")
        failure = self._take_failure(user_id)
        if failure is not None:
            return _error(failure.code, failure.message)
        try:
            self._check_message(body.get("message"))
        except _Invalid as invalid:
            return _error(-201, str(invalid))
        last = self._last_interaction.get(user_id)
        now = _now_ms()
        if last is not None and now - last > INTERACTION_WINDOW_MS:
            return _error(-230)
        message_id = hashlib.md5(
            f"{self.oa_id}:{next(self._message_serial)}".encode(), usedforsecurity=False
        ).hexdigest()
        self.sent.append({**copy.deepcopy(body), "message_id": message_id})
        return {
            "data": {
                "message_id": message_id,
                "user_id": user_id,
                "sent_time": str(now),
                "quota": {"quota_type": "reply", "remain": "8", "total": "8"},
            },
            "error": 0,
            "message": "Success",
        }

    def _take_failure(self, user_id: str) -> _ScriptedFailure | None:
        for failure in self._failures:
            if failure.user_id is None or failure.user_id == user_id:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _check_message(self, message: Any) -> None:
        """Raise :class:`_Invalid` unless ``message`` is a text, buttons or image message."""
        if not isinstance(message, dict) or not message:
            raise _Invalid("message")
        if set(message) - {"text", "attachment", "quote_message_id"}:
            raise _Invalid("message")
        attachment = message.get("attachment")
        if attachment is None:
            if not _is_text(message.get("text"), MAX_TEXT_LENGTH):
                raise _Invalid("message.text")
            return
        if not isinstance(attachment, dict) or attachment.get("type") != "template":
            raise _Invalid("message.attachment")
        payload = attachment.get("payload")
        if not isinstance(payload, dict) or set(attachment) != {"type", "payload"}:
            raise _Invalid("message.attachment")
        if "buttons" in payload:
            if not _is_text(message.get("text"), MAX_TEXT_LENGTH):
                raise _Invalid("message.text")
            if set(payload) != {"buttons"}:  # no template_type for buttons
                raise _Invalid("message.attachment.payload")
            self._check_buttons(payload["buttons"])
        elif payload.get("template_type") == "media":
            if "text" in message and not _is_text(message["text"], MAX_TEXT_LENGTH):
                raise _Invalid("message.text")
            self._check_media(payload)
        else:
            raise _Invalid("message.attachment.payload")

    def _check_buttons(self, buttons: Any) -> None:
        field = "message.attachment.payload.buttons"
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise _Invalid(field)
        for index, button in enumerate(buttons):
            where = f"{field}[{index}]"
            if not isinstance(button, dict) or set(button) - _BUTTON_KEYS:
                raise _Invalid(where)
            kind = button.get("type")
            if not _is_text(button.get("title"), MAX_BUTTON_TITLE):
                raise _Invalid(f"{where}.title")
            payload = button.get("payload")
            if kind in _QUERY_BUTTONS:
                if not _is_text(payload, MAX_QUERY_PAYLOAD):
                    raise _Invalid(f"{where}.payload")
            elif kind in _BUTTON_PAYLOAD_FIELDS:
                fields = _BUTTON_PAYLOAD_FIELDS[kind]
                if not isinstance(payload, dict) or set(payload) != set(fields):
                    raise _Invalid(f"{where}.payload")
                if not all(isinstance(payload[f], str) and payload[f] for f in fields):
                    raise _Invalid(f"{where}.payload")
                if kind == "oa.open.url" and not _is_url(payload["url"]):
                    raise _Invalid(f"{where}.payload.url")
            else:
                raise _Invalid(f"{where}.type")

    def _check_media(self, payload: JSON) -> None:
        field = "message.attachment.payload.elements"
        elements = payload.get("elements")
        if set(payload) != {"template_type", "elements"}:
            raise _Invalid("message.attachment.payload")
        if not isinstance(elements, list) or len(elements) != 1:
            raise _Invalid(field)
        element = elements[0]
        if not isinstance(element, dict) or element.get("media_type") != "image":
            raise _Invalid(f"{field}[0].media_type")
        sources = set(element) - {"media_type"}
        if sources == {"url"}:
            if not _is_url(element["url"]):
                raise _Invalid(f"{field}[0].url")
        elif sources == {"attachment_id"}:
            if element["attachment_id"] not in self._attachments:
                raise _Invalid(f"{field}[0].attachment_id")
        else:  # neither, both, or extra keys
            raise _Invalid(f"{field}[0]")

    def _upload_image(
        self, headers: dict, body: JSON, files: dict[str, _Upload], content_type: str
    ) -> JSON:
        if not self._token_ok(headers):
            return _error(-216)
        upload = files.get("file")
        if upload is None or not upload.data:
            return _error(-201, "file is invalid")
        self.uploads.append(upload.data)
        attachment_id = (
            "ATT"
            + hashlib.md5(
                f"{self.oa_id}:image:{next(self._attachment_serial)}".encode(),
                usedforsecurity=False,
            ).hexdigest()
        )
        self._attachments.add(attachment_id)
        return {"data": {"attachment_id": attachment_id}, "error": 0, "message": "Success"}

    def _access_token(
        self, headers: dict, body: JSON, files: dict[str, _Upload], content_type: str
    ) -> JSON:
        if headers.get("secret_key") != self.app_secret:
            return _oauth_error(
                -14014, "Invalid secret key", "secret_key is missing or does not match the app"
            )
        if content_type not in _FORM_TYPES or body.get("grant_type") != "refresh_token":
            # -14000 is the fake's own code: the real one for these cases is undocumented.
            return _oauth_error(
                -14000,
                "Invalid request",
                "expected a form-urlencoded body with grant_type=refresh_token",
            )
        if body.get("app_id") != self.app_id:
            return _oauth_error(
                -14014, "Invalid secret key", "secret_key does not belong to this app_id"
            )
        if body.get("refresh_token") != self.refresh_token:
            return {
                "error": -14020,
                "error_name": "Invalid refresh token",
                "error_reason": "refresh_token is invalid, used or expired",
                "error_description": "refresh_token is invalid, used or expired",
            }
        serial = next(self._token_serial)
        self.access_token = f"AT-{serial}"
        self.refresh_token = f"RT-{serial}"
        self.refreshes += 1
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": EXPIRES_IN,
        }


# --------------------------------------------------------------------------------------------
# Webhook events and signing
# --------------------------------------------------------------------------------------------


def sign(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The ``X-ZEvent-Signature`` value: ``"mac=" + sha256(app_id + raw_body + timestamp +
    oa_secret_key)`` as lowercase hex (plain SHA-256 of the concatenation, not HMAC)."""
    digest = hashlib.sha256(
        app_id.encode() + raw_body + timestamp.encode() + oa_secret_key.encode()
    ).hexdigest()
    return f"mac={digest}"


def signed_event(
    app_id: str, oa_secret_key: str, event: Mapping[str, Any] | bytes | str
) -> tuple[bytes, dict[str, str]]:
    """``(raw body, headers)`` for posting ``event`` to a webhook as Zalo does.

    A dict is serialised compactly as UTF-8 JSON (non-ASCII kept as is); bytes or str are sent
    exactly as given (to test that the bot hashes the body as received). The timestamp signed
    is the body's ``"timestamp"`` field (``""`` if absent).
    """
    if isinstance(event, Mapping):
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = event.get("timestamp", "")
    else:
        raw = event.encode() if isinstance(event, str) else bytes(event)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        timestamp = parsed.get("timestamp", "") if isinstance(parsed, dict) else ""
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(app_id, raw, str(timestamp), oa_secret_key),
    }
    return raw, headers


def _user_id_by_app(app_id: str, user_id: str) -> str:
    """A stable app-scoped id (a numeric string, different from the OA-scoped one)."""
    digest = hashlib.sha256(f"{app_id}:{user_id}".encode()).hexdigest()
    return str(int(digest[:15], 16))


def _timestamp(timestamp_ms: int | None) -> str:
    return str(_now_ms() if timestamp_ms is None else int(timestamp_ms))


def _msg_id(msg_id: str | None) -> str:
    return uuid.uuid4().hex if msg_id is None else str(msg_id)


def text_event(
    app_id: str,
    oa_id: str,
    user_id: str,
    text: str,
    msg_id: str | None = None,
    timestamp_ms: int | None = None,
) -> JSON:
    """A ``user_send_text`` event (also what a click on an ``oa.query.*`` button sends, with
    the button's payload as ``text``). ``msg_id`` defaults to a fresh unique id."""
    return {
        "event_name": "user_send_text",
        "app_id": str(app_id),
        "sender": {"id": str(user_id)},
        "recipient": {"id": str(oa_id)},
        "message": {"text": text, "msg_id": _msg_id(msg_id)},
        "timestamp": _timestamp(timestamp_ms),
        "user_id_by_app": _user_id_by_app(str(app_id), str(user_id)),
    }


def _follow(
    event_name: str,
    app_id: str,
    oa_id: str,
    user_id: str,
    source: str,
    timestamp_ms: int | None,
) -> JSON:
    return {
        "event_name": event_name,
        "app_id": str(app_id),
        "oa_id": str(oa_id),
        "follower": {"id": str(user_id)},
        "source": source,
        "timestamp": _timestamp(timestamp_ms),
        "user_id_by_app": _user_id_by_app(str(app_id), str(user_id)),
    }


def follow_event(
    app_id: str,
    oa_id: str,
    user_id: str,
    *,
    source: str = "oa_profile",
    timestamp_ms: int | None = None,
) -> JSON:
    """A ``follow`` event (``follower.id``, ``oa_id``, ``source``, ``user_id_by_app``)."""
    return _follow("follow", app_id, oa_id, user_id, source, timestamp_ms)


def unfollow_event(
    app_id: str,
    oa_id: str,
    user_id: str,
    *,
    source: str = "oa_profile",
    timestamp_ms: int | None = None,
) -> JSON:
    """An ``unfollow`` event (same shape as :func:`follow_event`)."""
    return _follow("unfollow", app_id, oa_id, user_id, source, timestamp_ms)


def image_event(
    app_id: str,
    oa_id: str,
    user_id: str,
    url: str = "https://photo-zmp3.zadn.vn/fake/image.jpg",
    *,
    thumbnail: str | None = None,
    text: str | None = None,
    msg_id: str | None = None,
    timestamp_ms: int | None = None,
) -> JSON:
    """A ``user_send_image`` event: ``message.attachments[{type: "image", payload: {url,
    thumbnail}}]`` plus ``msg_id`` (and ``text``, a caption, only if given)."""
    message: JSON = {
        "msg_id": _msg_id(msg_id),
        "attachments": [{"type": "image", "payload": {"url": url, "thumbnail": thumbnail or url}}],
    }
    if text is not None:
        message["text"] = text
    return {
        "event_name": "user_send_image",
        "app_id": str(app_id),
        "sender": {"id": str(user_id)},
        "recipient": {"id": str(oa_id)},
        "message": message,
        "timestamp": _timestamp(timestamp_ms),
        "user_id_by_app": _user_id_by_app(str(app_id), str(user_id)),
    }


def echo_event(
    app_id: str,
    oa_id: str,
    user_id: str,
    kind: str = "oa_send_text",
    *,
    text: str = "Tin nhắn từ OA",
    msg_id: str | None = None,
    timestamp_ms: int | None = None,
) -> JSON:
    """An OA echo (``oa_send_*``): sender is the OA, recipient the user. Never to be
    answered."""
    return {
        "event_name": kind,
        "app_id": str(app_id),
        "sender": {"id": str(oa_id)},
        "recipient": {"id": str(user_id)},
        "message": {"text": text, "msg_id": _msg_id(msg_id)},
        "timestamp": _timestamp(timestamp_ms),
        "user_id_by_app": _user_id_by_app(str(app_id), str(user_id)),
    }


def receipt_event(
    app_id: str,
    oa_id: str,
    user_id: str,
    kind: str = "user_seen_message",
    *,
    msg_ids: list[str] | None = None,
    timestamp_ms: int | None = None,
) -> JSON:
    """A receipt (``user_seen_message`` / ``user_received_message``): like an echo, sender is
    the OA and recipient the user; ``message.msg_ids`` lists the messages concerned."""
    return {
        "event_name": kind,
        "app_id": str(app_id),
        "sender": {"id": str(oa_id)},
        "recipient": {"id": str(user_id)},
        "message": {"msg_ids": list(msg_ids) if msg_ids is not None else [_msg_id(None)]},
        "timestamp": _timestamp(timestamp_ms),
        "user_id_by_app": _user_id_by_app(str(app_id), str(user_id)),
    }


class ZaloWebhookClient:
    """Posts signed events to a bot's webhook URL, as Zalo's servers do.

    ``last_status``/``last_text`` hold the latest answer. Use as an async context manager or
    call :meth:`close`.
    """

    def __init__(self, url: str, app_id: str, oa_secret_key: str) -> None:
        self.url = url
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.last_status: int | None = None
        self.last_text: str | None = None
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self,
        event: Mapping[str, Any] | bytes | str,
        *,
        signature: str | None = None,
    ) -> int:
        """POST ``event`` (see :func:`signed_event`) and return the HTTP status.

        ``signature`` replaces the computed ``X-ZEvent-Signature`` (e.g. ``"mac=bad"``);
        ``""`` sends no signature header at all.
        """
        raw, headers = signed_event(self.app_id, self.oa_secret_key, event)
        if signature == "":
            del headers[SIGNATURE_HEADER]
        elif signature is not None:
            headers[SIGNATURE_HEADER] = signature
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.url, data=raw, headers=headers) as response:
            self.last_status = response.status
            self.last_text = await response.text()
            return response.status

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> ZaloWebhookClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
