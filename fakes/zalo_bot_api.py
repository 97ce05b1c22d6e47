"""A fake Zalo Bot Platform server speaking real HTTP, as `/work/shared/zalo-bot-platform-facts.md`
describes it (it is not Telegram):

* `POST /bot<TOKEN>/<method>` with JSON, form or query parameters; every answer is the envelope
  `{ok, result?, error_code?, description?}`. Business errors come as HTTP 200 with `ok:false`
  (reported; `fail_next(..., status=...)` also scripts real HTTP codes).
* `getUpdates` takes only `timeout`, returns **one** update (an object, not a list), consumes it
  on answer (no offset, no redelivery), and answers `ok:false, error_code:408` when nothing came
  within the timeout. It fails while a webhook is set.
* The bot's own sends come back as `message.text.received` events from the bot itself (echoes).
* `sendMessage` text is 1-2,000 characters (else 400); `sendPhoto` takes a URL only, which the
  fake fetches twice, as Zalo may (`photo_fetches` holds what it got).
* A revoked token answers 401; `fail_next` scripts 401, 429 or any `ok:false` answer.
* With a webhook set, events are POSTed to it with `X-Bot-Api-Secret-Token`, flat
  (`{event_name, message}`, as real deliveries) or wrapped (`{ok, result}`, as the docs show).

Members act with `say`, `send_media`, `send_unsupported`; tests read `messages_to(chat_id)` and
wait with `wait_for(...)`, which wakes on every request: no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from fakes.local_server import LocalServer

JSON = dict[str, Any]
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_LIMIT = 2000
MAX_POLL_S = 2.0  # a long poll of the fake ends sooner than asked: tests stop quickly


@dataclass
class _Fault:
    code: int
    description: str
    method: str | None
    status: int
    remaining: int


def _hex_id() -> str:
    return secrets.token_hex(10)  # 20 hex characters, like Zalo's user and message ids


class FakeZaloBot(LocalServer):
    """One bot of the Bot Platform: its token, its update queue, its sent messages."""

    def __init__(self, *, bot_id: str = "1459232241454765289", secret: str = "fake-secret") -> None:
        super().__init__()
        self.bot_id = bot_id
        self.token = f"{bot_id}:{secret}"
        self.revoked = False
        self.echoes = True  # the bot's own sends come back as updates (reported)
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.wrapped = False  # webhook bodies as the docs show ({ok, result}) instead of flat
        self.sent: list[JSON] = []  # accepted sendMessage/sendPhoto parameters + message_id
        self.calls: list[tuple[str, JSON]] = []
        self.photo_fetches: list[bytes] = []
        self.webhook_answers: list[int] = []
        self.slow_chats: dict[str, float] = {}  # chat id -> seconds each send to it takes
        self._updates: deque[JSON] = deque()
        self._faults: list[_Fault] = []
        self._changed = asyncio.Event()
        self._serial = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()

    @property
    def api_url(self) -> str:
        """Stands for https://bot-api.zaloplatforms.com."""
        return f"http://127.0.0.1:{self.port}"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # -- scripting ------------------------------------------------------------------------------
    def revoke(self) -> None:
        """The token is reset in Bot Creator: every call now answers 401."""
        self.revoked = True
        self._notify()

    def fail_next(
        self,
        code: int,
        description: str = "",
        *,
        method: str | None = None,
        status: int = 200,
        times: int = 1,
    ) -> None:
        """The next `times` calls (of `method`, if given) answer `ok:false, error_code:code`
        with HTTP `status` (200: the business-error form reported for the real platform)."""
        self._faults.append(_Fault(code, description or f"error {code}", method, status, times))

    # -- members --------------------------------------------------------------------------------
    def event(self, user_id: str, name: str = "Lan", kind: str = "text", **fields: Any) -> JSON:
        """A `message.<kind>.received` event from a member in a private chat."""
        message: JSON = {
            "message_id": _hex_id(),
            "date": int(time.time() * 1000),
            "from": {"id": user_id, "display_name": name, "is_bot": False},
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            **fields,
        }
        return {"event_name": f"message.{kind}.received", "message": message}

    def say(self, user_id: str, text: str, name: str = "Lan") -> JSON:
        return self.push(self.event(user_id, name, "text", text=text))

    def send_media(self, user_id: str, kind: str = "image", name: str = "Lan") -> JSON:
        extra: JSON = {
            "image": {"photo_url": "https://photo.zalo.me/fake.jpg", "message_type": "CHAT_PHOTO"},
            "sticker": {"sticker": "abc123", "url": "https://zalo.me/sticker.png"},
            "voice": {"voice_url": "https://zalo.me/voice.aac"},
        }[kind]
        return self.push(self.event(user_id, name, kind, **extra))

    def send_unsupported(self, user_id: str, name: str = "Lan") -> JSON:
        """What Zalo sends for a protected user (a child...): no content at all."""
        return self.push(self.event(user_id, name, "unsupported"))

    def push(self, event: JSON) -> JSON:
        """Queue an event for getUpdates, or POST it to the webhook when one is set."""
        if self.webhook_url is not None:
            task = asyncio.create_task(self.post_to_webhook(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._updates.append(event)
        self._notify()
        return event

    async def post_to_webhook(self, event: JSON, *, secret: str | None = None) -> int:
        """POST one event to the webhook as Zalo does; `secret` replaces the real one ("" sends
        no header)."""
        assert self.webhook_url is not None
        body = {"ok": True, "result": event} if self.wrapped else event
        given = self.webhook_secret if secret is None else secret
        headers = {SECRET_HEADER: given} if given else {}
        headers["User-Agent"] = "Java/1.8.0_292"
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, json=body, headers=headers) as response,
        ):
            self.webhook_answers.append(response.status)
            self._notify()
            return response.status

    # -- observing ------------------------------------------------------------------------------
    def messages_to(self, chat_id: str) -> list[JSON]:
        return [m for m in self.sent if m["chat_id"] == chat_id]

    def texts_to(self, chat_id: str) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.messages_to(chat_id)]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [method for method, _ in self.calls[-8:]]
                raise TimeoutError(f"FakeZaloBot: condition not met; last calls {recent}")
            await self._wait_changed(remaining)

    async def wait_for_messages(self, chat_id: str, count: int, timeout: float = 5.0) -> list[str]:
        await self.wait_for(lambda: len(self.messages_to(chat_id)) >= count, timeout)
        return self.texts_to(chat_id)

    # -- HTTP -----------------------------------------------------------------------------------
    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_changed(self, seconds: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def _params(self, request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update({k: v for k, v in (await request.post()).items()})
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        self._notify()
        if self.revoked or request.match_info["token"] != self.token:
            return _error(401, "Unauthorized", 401)
        for fault in self._faults:
            if fault.method in (None, method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return _error(fault.code, fault.description, fault.status)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found", 404)
        return await handler(params)

    async def _m_getMe(self, params: JSON) -> web.Response:
        return _ok(
            {
                "id": self.bot_id,
                "account_name": "bot.khuyenhoc",
                "account_type": "BASIC",
                "can_join_groups": False,
            }
        )

    async def _m_getUpdates(self, params: JSON) -> web.Response:
        if self.webhook_url is not None:
            return _error(400, "Webhook is active; getUpdates is not allowed")
        timeout = min(MAX_POLL_S, float(params.get("timeout", 30)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        assert self._stopping is not None
        while not self._updates and not self._stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._wait_changed(remaining)
        if not self._updates:
            return _error(408, "Request timeout")
        return _ok(self._updates.popleft())  # one update, consumed now

    async def _m_setWebhook(self, params: JSON) -> web.Response:
        url, secret = params.get("url"), params.get("secret_token")
        if not url or not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return _error(400, "url and secret_token (8-256 characters) are required")
        self.webhook_url, self.webhook_secret = str(url), secret
        return _ok({"url": self.webhook_url, "updated_at": int(time.time() * 1000)})

    async def _m_deleteWebhook(self, params: JSON) -> web.Response:
        if self.webhook_url is None:
            return _error(400, "Webhook is not set")  # reported: 400 when there is none
        self.webhook_url = self.webhook_secret = None
        return _ok({"url": "", "updated_at": int(time.time() * 1000)})

    async def _m_getWebhookInfo(self, params: JSON) -> web.Response:
        return _ok({"url": self.webhook_url or "", "updated_at": 0})

    async def _m_sendChatAction(self, params: JSON) -> web.Response:
        return web.json_response({"ok": True})

    async def _m_sendMessage(self, params: JSON) -> web.Response:
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMIT:
            return _error(400, "text must be 1-2000 characters")
        delay = self.slow_chats.get(str(params.get("chat_id", "")), 0.0)
        if delay:
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
        return self._sent(params)

    async def _m_sendPhoto(self, params: JSON) -> web.Response:
        photo, caption = params.get("photo"), params.get("caption")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            return _error(400, "photo must be a URL")
        if caption is not None and not (isinstance(caption, str) and len(caption) <= TEXT_LIMIT):
            return _error(400, "caption must be 1-2000 characters")
        async with aiohttp.ClientSession() as session:
            for _ in range(2):  # Zalo may fetch a photo URL more than once
                async with session.get(photo) as response:
                    if response.status != 200:
                        return _error(400, f"photo URL answered {response.status}")
                    self.photo_fetches.append(await response.read())
        return self._sent(params)

    def _sent(self, params: JSON) -> web.Response:
        chat_id = str(params.get("chat_id", ""))
        if not chat_id:
            return _error(400, "chat_id is required")
        message_id = _hex_id()
        self.sent.append({**params, "chat_id": chat_id, "message_id": message_id})
        date = int(time.time() * 1000)
        if self.echoes:
            echo = {
                "event_name": "message.text.received",
                "message": {
                    "message_id": message_id,
                    "date": date,
                    "from": {"id": self.bot_id, "display_name": "Bot", "is_bot": True},
                    "chat": {"id": chat_id, "chat_type": "PRIVATE"},
                    "text": params.get("text") or params.get("caption") or "",
                },
            }
            self.push(echo)
        self._notify()
        return _ok({"message_id": message_id, "date": date})

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await super().stop()


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, status: int = 200) -> web.Response:
    body = {"ok": False, "error_code": code, "description": description}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
