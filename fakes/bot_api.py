"""A fake Telegram Bot API server speaking real HTTP, for end-to-end tests and benchmarks.

:class:`FakeBotAPI` runs an :mod:`aiohttp.web` server on ``127.0.0.1`` (port chosen by the OS)
that answers ``/bot<token>/<method>`` like api.telegram.org does, so the *real*
python-telegram-bot stack — ``Application``, ``Updater`` long polling, either the default httpx
transport or :class:`bot.channels.aiohttp_request.AiohttpRequest` — runs unmodified against it::

    async with FakeBotAPI() as fake:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        ...
        fake.user_sends(FakeUser(id=42), "/start")
        [welcome] = await fake.wait_for_messages(42, 1)
        assert welcome.button_texts() == [...]

Tests drive it from the user's side (``user_sends``, ``user_presses``, ``user_blocks`` ...
queue updates for ``getUpdates``) and observe the bot's side (``calls``, ``messages``,
``answered_callbacks``, ``commands``). ``wait_for`` wakes on every API call and every queued
update, so tests never need polling sleeps.

Fidelity notes: request bodies may be JSON, form-urlencoded or multipart, with the same
"everything is a string, nested objects are JSON strings" conventions Telegram accepts. HTML
``parse_mode`` is parsed like Telegram does (the returned ``Message`` carries the plain text plus
entities, unknown/unbalanced tags are a 400); Markdown modes are passed through unparsed. Sending
to a chat the fake has never seen is allowed (a private chat is assumed for positive ids).
Optional rate limits and latency make it usable for throughput benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from fakes.local_server import LocalServer

__all__ = ["FakeBotAPI", "FakeUser", "SentMessage", "UploadedFile"]

JSON = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

#: Update types delivered when the bot has not asked for specific ones (Telegram's default).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

#: Methods that count against the rate limits.
RATE_LIMITED_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})

# How string-typed request values are decoded (Telegram accepts every value as a string).
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_NUMBER_PARAMS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "user_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_INT_RE = re.compile(r"-?\d+")


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    """A Telegram user that tests act as."""

    id: int
    first_name: str = "Lan"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"

    def to_json(self) -> JSON:
        """The Bot API ``User`` object for this user."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class SentMessage:
    """What the user's screen shows for one bot message (kept up to date by later edits).

    ``text``/``caption`` are exactly as the bot sent them (still containing HTML tags when
    ``parse_mode`` is HTML); :meth:`visible_text` gives the rendered text.
    """

    message_id: int
    chat_id: int
    kind: str  # "text" | "photo" | "document"
    text: str | None
    caption: str | None
    parse_mode: str | None
    reply_markup: dict | None  # as sent (inline_keyboard ...); updated by edits
    file_name: str | None
    file_bytes: bytes | None
    edits: int = 0
    #: For photos/documents: the file_id the fake assigned to an upload, or the file_id/URL the
    #: bot sent by reference.
    file_id: str | None = None

    def buttons(self) -> list[list[tuple[str, str]]]:
        """Keyboard rows as ``(text, callback_data or url)`` pairs; ``[]`` without a keyboard.

        Reply-keyboard buttons (and inline buttons of other types) have ``""`` as second item.
        """
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        result: list[list[tuple[str, str]]] = []
        for row in rows:
            out_row: list[tuple[str, str]] = []
            for button in row:
                if isinstance(button, str):
                    out_row.append((button, ""))
                else:
                    value = button.get("callback_data") or button.get("url") or ""
                    out_row.append((button.get("text", ""), value))
            result.append(out_row)
        return result

    def button_texts(self) -> list[str]:
        """All button labels, flattened row by row."""
        return [text for row in self.buttons() for text, _ in row]

    def visible_text(self) -> str | None:
        """The text (or caption) as rendered to the user, i.e. without HTML tags."""
        raw = self.text if self.kind == "text" else self.caption
        if raw is None:
            return None
        try:
            return _render(raw, self.parse_mode)[0]
        except _ApiError:
            return raw


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as it appears in :attr:`FakeBotAPI.calls`."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {len(self.data)} bytes, {self.content_type!r})"


# --------------------------------------------------------------------------------------------
# Internals: errors, HTML parsing
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """Raised by method handlers; becomes a ``{"ok": false, ...}`` answer."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(detail: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {detail}")


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHTML(HTMLParser):
    """Parses Telegram's HTML subset into plain text + entities, rejecting what Telegram
    rejects (unsupported or unbalanced tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.position = 0  # in UTF-16 code units
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _HTML_ENTITY_TYPES or (
            tag == "span" and attributes.get("class") != "tg-spoiler"
        ):
            raise _bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        if tag == "code" and self.stack and self.stack[-1].tag == "pre":
            # <pre><code class="language-x"> is a single pre entity with a language.
            css = attributes.get("class") or ""
            self.stack[-1].language = css.removeprefix("language-") or None
        self.stack.append(_OpenTag(tag, self.position, attributes))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1].tag != tag:
            raise _bad_request(f'can\'t parse entities: Unmatched end tag "{tag}"')
        opened = self.stack.pop()
        length = self.position - opened.start
        inside_pre = tag == "code" and self.stack and self.stack[-1].tag == "pre"
        if length == 0 or inside_pre:
            return
        entity: JSON = {"type": _HTML_ENTITY_TYPES[tag], "offset": opened.start, "length": length}
        if tag == "a":
            url = opened.attributes.get("href") or ""
            mention = re.fullmatch(r"tg://user\?id=(\d+)", url)
            if mention:
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(mention[1]), "is_bot": False, "first_name": "User"}
            else:
                entity["url"] = url
        elif tag == "pre" and opened.language:
            entity["language"] = opened.language
        elif tag == "blockquote" and "expandable" in opened.attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = opened.attributes.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.position += _utf16_len(data)

    def handle_comment(self, data: str) -> None:
        raise _bad_request('can\'t parse entities: Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        raise _bad_request(f'can\'t parse entities: Unsupported start tag "!{decl}"')

    def handle_pi(self, data: str) -> None:
        raise _bad_request(f'can\'t parse entities: Unsupported start tag "?{data}"')

    def close(self) -> None:
        super().close()
        if self.stack:
            raise _bad_request(
                "can't parse entities: Can't find end tag corresponding to start tag "
                f'"{self.stack[-1].tag}"'
            )


@dataclass
class _OpenTag:
    tag: str
    start: int
    attributes: dict[str, str | None]
    language: str | None = None


def _render(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Apply ``parse_mode`` like Telegram: returns (plain text, entities) or raises a 400."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode in ("markdown", "markdownv2"):
        return text, []  # not parsed: passed through as-is
    if mode != "html":
        raise _bad_request("unsupported parse_mode")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), entities


# --------------------------------------------------------------------------------------------
# Internals: stored bot messages
# --------------------------------------------------------------------------------------------


@dataclass
class _Stored:
    """A bot message plus what is needed to render it as a Bot API ``Message``."""

    sent: SentMessage
    date: int
    plain: str | None  # text/caption with markup applied
    entities: list[JSON]
    media: Any = None  # photo sizes list or document dict
    edit_date: int | None = None


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int | None
    remaining: int


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotAPI(LocalServer):
    """An in-process Bot API server for one bot (see the module docstring).

    Args:
        token: The bot token; the part before ``:`` is the bot's user id.
        bot_username: Username returned by ``getMe``.
        response_delay: Seconds every answer is delayed by (simulated network latency); other
            requests are served meanwhile. ``getUpdates`` is not delayed. Can be changed while
            running.
        global_rate: Messages per second accepted over all chats (``sendMessage``,
            ``sendPhoto``, ``sendDocument``, ``editMessageText``); excess gets a 429.
        per_chat_rate: Same, per chat.
    """

    client_max_size = 64 * 1024 * 1024  # documents and photos up to the Bot API's 50 MB

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "khuyenhoc_test_bot",
        response_delay: float = 0.0,
        global_rate: float | None = None,
        per_chat_rate: float | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.response_delay = response_delay
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Khuyến học",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

        # Observations.
        self.calls: list[tuple[str, dict]] = []
        self.answered_callbacks: dict[str, dict] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.confirmed_offset = 0
        self.rejected_429 = 0
        self.webhook_url = ""

        # Server state.
        self._changed = asyncio.Event()

        self._update_ids = itertools.count(1)
        self._updates: list[JSON] = []  # not yet confirmed, ascending update_id
        self._malformed: set[int] = set()  # update_ids getUpdates leaves out
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._chats: dict[int, JSON] = {}
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._sent: defaultdict[int, list[SentMessage]] = defaultdict(list)
        self._stored: dict[tuple[int, int], _Stored] = {}
        self._callback_ids = itertools.count(1)
        self._issued_callbacks: set[str] = set()
        self._blocked: set[int] = set()
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._chat_failures: dict[int, deque[_Failure]] = defaultdict(deque)
        self._outage: _Failure | None = None  # every call but getUpdates fails while set
        self._arrived = 0.0
        self._files: dict[str, tuple[str | None, bytes | None]] = {}
        self._file_ids = itertools.count(1)
        self._user_files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self._global_sends: deque[float] = deque()
        self._chat_sends: defaultdict[int, deque[float]] = defaultdict(deque)

        handlers: dict[str, Callable[[JSON, dict[str, UploadedFile]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
        }
        # Telegram method names are case-insensitive.
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Pass to ``ApplicationBuilder.base_url`` / ``Bot(base_url=...)``; PTB appends the
        token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """File download base URL (the documents users sent: :meth:`user_sends_document`)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    async def _download(self, request: web.Request) -> web.Response:
        """A file users sent, at the ``file_path`` getFile gave (as Telegram serves them)."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        self.calls.append(("download", {"file_path": request.match_info["path"]}))
        for path, data in self._user_files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        return web.Response(status=404)

    # ---------------------------------------------------------------- simulating users

    def user_sends(
        self,
        user: FakeUser,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> int:
        """Queue a text message from ``user`` (in their private chat unless ``chat_id`` is
        given). A leading ``/command`` gets a ``bot_command`` entity. Returns the update_id."""
        message = self._user_message(user, chat_id, chat_type)
        message["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self.push_update({"message": message})

    def user_sends_media(self, user: FakeUser, kind: str, *, chat_id: int | None = None) -> int:
        """Queue a non-text message: ``kind`` is photo, sticker, voice, location or document."""
        message = self._user_message(user, chat_id, None)
        file_id = f"USERFILE{next(self._file_ids):06d}"
        unique = f"U{file_id}"
        if kind == "photo":
            message["photo"] = _photo_sizes(file_id, 98000)
        elif kind == "sticker":
            message["sticker"] = {
                "file_id": file_id,
                "file_unique_id": unique,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        elif kind == "voice":
            message["voice"] = {
                "file_id": file_id,
                "file_unique_id": unique,
                "duration": 3,
                "mime_type": "audio/ogg",
                "file_size": 5400,
            }
        elif kind == "location":
            message["location"] = {"latitude": 10.0341851, "longitude": 105.7225507}  # Cần Thơ
        elif kind == "document":
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_name": "tai-lieu.pdf",
                "mime_type": "application/pdf",
                "file_size": 20480,
            }
        else:
            raise ValueError(f"unsupported media kind {kind!r}")
        return self.push_update({"message": message})

    def user_sends_document(
        self, user: FakeUser, data: bytes, file_name: str, *, mime_type: str | None = None
    ) -> int:
        """Queue a document ``user`` sends in their private chat, with its bytes: the bot can
        fetch it with ``getFile`` and a download from :attr:`base_file_url`."""
        message = self._user_message(user, None, None)
        file_id = f"USERDOC{next(self._file_ids):06d}"
        self._user_files[file_id] = (f"documents/{file_id}_{file_name}", data)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_name": file_name,
            "mime_type": mime_type or "application/octet-stream",
            "file_size": len(data),
        }
        return self.push_update({"message": message})

    def user_presses(self, user: FakeUser, message: SentMessage | int, data: str) -> int:
        """Queue a callback query for an inline button with ``data`` on a bot message
        (a :class:`SentMessage`, or a message_id in ``user``'s private chat)."""
        if isinstance(message, SentMessage):
            key = (message.chat_id, message.message_id)
        else:
            key = (user.id, message)
        stored = self._stored.get(key)
        if stored is None:
            raise LookupError(f"no bot message {key[1]} in chat {key[0]}")
        query_id = f"{next(self._callback_ids)}{user.id}"
        self._issued_callbacks.add(query_id)
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_json(),
                    "message": self._message_json(stored),
                    "chat_instance": str(-abs(hash(key[0]))),
                    "data": data,
                }
            }
        )

    def user_blocks(self, user: FakeUser) -> int:
        """The user blocks the bot: queue ``my_chat_member`` (member → kicked); sends to their
        chat get 403 until :meth:`user_unblocks`."""
        self._blocked.add(user.id)
        return self._push_member_change(user, "member", "kicked")

    def user_unblocks(self, user: FakeUser) -> int:
        """The user unblocks the bot: queue ``my_chat_member`` (kicked → member)."""
        self._blocked.discard(user.id)
        return self._push_member_change(user, "kicked", "member")

    def push_malformed_update(self, update: dict) -> int:
        """Queue an update that getUpdates returns without its ``update_id`` (a broken proxy);
        it is forgotten with the updates before the next confirmed offset."""
        update_id = self.push_update(update)
        self._malformed.add(update_id)
        return update_id

    def push_update(self, update: dict) -> int:
        """Queue a raw update (its ``update_id`` is assigned here) and return the update_id."""
        update_id = next(self._update_ids)
        self._updates.append({**update, "update_id": update_id})
        self._notify()
        return update_id

    def _user_message(self, user: FakeUser, chat_id: int | None, chat_type: str | None) -> JSON:
        """A new message skeleton from ``user``; registers the chat. ``chat_type`` None means
        "whatever the chat already is" (a negative id can never be a private chat)."""
        chat_id = user.id if chat_id is None else chat_id
        known = self._chats.get(chat_id)
        if chat_type is None and known is not None:
            chat_type = known["type"]
        if chat_type in (None, "private") and chat_id < 0:
            chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat_type = chat_type or "private"
        if known is None or known["type"] != chat_type:
            private_user = user if chat_type == "private" else None
            self._chats[chat_id] = self._make_chat(chat_id, chat_type, private_user)
        return {
            "message_id": next(self._message_ids[chat_id]),
            "from": user.to_json(),
            "chat": self._chats[chat_id],
            "date": int(time.time()),
        }

    def _push_member_change(self, user: FakeUser, old: str, new: str) -> int:
        chat = self._chats.setdefault(user.id, self._make_chat(user.id, "private", user))

        def member(status: str) -> JSON:
            data: JSON = {"user": self._bot_from(), "status": status}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": user.to_json(),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # ---------------------------------------------------------------- observing

    def messages(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in ``chat_id``, in the order sent, reflecting later edits."""
        return list(self._sent.get(chat_id, ()))

    def last_message(self, chat_id: int) -> SentMessage:
        """The bot's most recent message in ``chat_id`` (LookupError if none)."""
        sent = self._sent.get(chat_id)
        if not sent:
            raise LookupError(f"the bot has sent no message to chat {chat_id}")
        return sent[-1]

    def calls_to(self, method: str) -> list[dict]:
        """Params of every call to ``method``, in order."""
        return [params for name, params in self.calls if name == method]

    @staticmethod
    def scope_key(scope: Mapping[str, Any] | None) -> str:
        """The first half of a :attr:`commands` key for a ``BotCommandScope`` dict:
        ``"default"`` or the scope as compact, key-sorted JSON."""
        if not scope or scope.get("type") == "default":
            return "default"
        return json.dumps(dict(scope), sort_keys=True, separators=(",", ":"))

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        description: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` is true, re-checking after every API call and update.

        Raises:
            TimeoutError: naming the condition and listing the latest API calls.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                what = description or getattr(predicate, "__qualname__", repr(predicate))
                recent = [name for name, _ in self.calls[-8:]]
                raise TimeoutError(
                    f"FakeBotAPI: condition not met within {timeout}s: {what}; "
                    f"last API calls: {recent}; pending updates: {len(self._updates)}"
                )
            await self._wait_changed(remaining)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``count`` messages to ``chat_id``; return them."""
        await self.wait_for(
            lambda: len(self._sent.get(chat_id, ())) >= count,
            timeout,
            description=(
                f"{count} bot message(s) in chat {chat_id} "
                f"(currently {len(self._sent.get(chat_id, ()))})"
            ),
        )
        return self.messages(chat_id)

    async def wait_until_acknowledged(
        self,
        update_id: int,
        timeout: float = 5.0,
    ) -> None:
        """Wait until the bot has called getUpdates with an offset beyond ``update_id``
        (i.e. it has fetched — and python-telegram-bot has dispatched — that update)."""
        await self.wait_for(
            lambda: self.confirmed_offset > update_id,
            timeout,
            description=(
                f"update {update_id} acknowledged (confirmed offset {self.confirmed_offset})"
            ),
        )

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error (queued after any
        failures already scheduled for it)."""
        self._failures[method.lower()].append(_Failure(error_code, description, retry_after, times))

    def fail_chat(
        self,
        chat_id: int,
        error_code: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` sends to ``chat_id`` fail with this error."""
        self._chat_failures[chat_id].append(_Failure(error_code, description, retry_after, times))

    def hang_chat(self, chat_id: int, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` sends to ``chat_id`` answer only after ``seconds`` (a client
        with a shorter read timeout sees a timeout; the message is still delivered, as on the
        real API when an answer is lost)."""
        self._chat_failures[chat_id].append(_Failure(0, "hang", seconds, times))  # type: ignore[arg-type]

    def outage(self, error_code: int = 500, description: str = "Internal Server Error") -> None:
        """Answer every call but getUpdates with this error until :meth:`recover` (the Bot
        API's sending side down while updates still arrive, as in issue 16)."""
        self._outage = _Failure(error_code, description, None, 0)

    def recover(self) -> None:
        """End an :meth:`outage`."""
        self._outage = None

    # ---------------------------------------------------------------- change notification

    def _notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for` or a getUpdates long poll."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_changed(self, seconds: float) -> None:
        """Wait for the next :meth:`_notify`, at most ``seconds``."""
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
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        entry = self._handlers.get(request.match_info["method"].lower())
        try:
            params, files = await self._read_params(request)
        except _ApiError as err:
            return web.json_response(err.to_json(), status=err.code)
        name = entry[0] if entry else request.match_info["method"]
        self.calls.append((name, {**params, **files}))
        self._notify()
        if entry is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        # Limits count a request when it arrives, as Telegram's do, not when the (simulated)
        # network delay has passed: timers that fire in bunches must not fake a burst.
        arrived = time.monotonic()
        try:
            if self.response_delay > 0 and name != "getUpdates":
                await self._pause(self.response_delay)
            if self._outage is not None and name != "getUpdates":
                raise _ApiError(self._outage.code, self._outage.description, None)
            self._raise_scheduled_failure(name)
            await self._chat_fault(name, params)
            self._arrived = arrived  # read by _check_rate; nothing awaits in between
            result = entry[1](params, files)
            if isinstance(result, Awaitable):
                result = await result
        except _ApiError as err:
            if err.code == 429:
                self.rejected_429 += 1
            return web.json_response(err.to_json(), status=err.code)
        finally:
            self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        """Collect parameters from the query string and a JSON/urlencoded/multipart body."""
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad_request("can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise _bad_request("JSON body must be an object")
                raw.update(body)
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(
                            value.filename, value.file.read(), value.content_type
                        )
                    else:
                        raw[key] = value
        return {key: _decode_param(key, value) for key, value in raw.items()}, files

    async def _chat_fault(self, method: str, params: JSON) -> None:
        """Faults scripted for one chat with :meth:`fail_chat` (sending methods only)."""
        if method not in ("sendMessage", "sendPhoto", "sendDocument"):
            return
        try:
            chat = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            return
        queue = self._chat_failures.get(chat)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        if failure.code == 0:  # a hang: answer only after the client has given up
            await self._pause(float(failure.retry_after or 0))
            return
        raise _ApiError(failure.code, failure.description, failure.retry_after)

    def _raise_scheduled_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        raise _ApiError(failure.code, failure.description, failure.retry_after)

    # ---------------------------------------------------------------- helpers for handlers

    def _bot_from(self) -> JSON:
        return {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}

    @staticmethod
    def _make_chat(chat_id: int, chat_type: str, user: FakeUser | None = None) -> JSON:
        if chat_type == "private":
            chat: JSON = {"id": chat_id, "type": "private"}
            if user is not None:
                chat.update(
                    (k, v)
                    for k, v in user.to_json().items()
                    if k in ("first_name", "last_name", "username")
                )
            else:
                chat["first_name"] = "User"
            return chat
        return {"id": chat_id, "type": chat_type, "title": f"Nhóm {chat_id}"}

    def _chat(self, chat_id: int) -> JSON:
        if chat_id not in self._chats:
            if chat_id > 0:
                chat_type = "private"
            else:
                chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
            self._chats[chat_id] = self._make_chat(chat_id, chat_type)
        return self._chats[chat_id]

    def _target_chat(self, params: JSON) -> int:
        """The numeric chat_id of a request, after the blocked-user check."""
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad_request("chat not found")
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_rate(self, chat_id: int) -> None:
        """Enforce ``global_rate``/``per_chat_rate`` with a sliding window; 429 when over."""
        now = self._arrived or time.monotonic()
        windows = []
        if self.global_rate:
            windows.append((self._global_sends, self.global_rate))
        if self.per_chat_rate:
            windows.append((self._chat_sends[chat_id], self.per_chat_rate))
        for sends, rate in windows:
            # Rates below 1/s use a window of 1/rate seconds holding a single message.
            window = max(1.0, 1.0 / rate)
            capacity = max(1, math.floor(rate * window))
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= capacity:
                retry_after = max(1, math.ceil(sends[0] + window - now))
                raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for sends, _ in windows:
            sends.append(now)

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        """Validate a reply_markup like Telegram (notably callback_data of 1-64 bytes)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or ():
            if not isinstance(row, list):
                raise _bad_request("can't parse inline keyboard button: field must be an Array")
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
                data = button.get("callback_data")
                if data is not None and not 0 < len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _text_of(params: JSON, key: str, limit: int, too_long: str) -> tuple[str, list[JSON]]:
        """Render ``params[key]`` (text or caption) and enforce its length limit."""
        text = params.get(key)
        text = "" if text is None else str(text)
        plain, entities = _render(text, params.get("parse_mode"))
        if "entities" in params or "caption_entities" in params:
            entities = params.get("entities") or params.get("caption_entities") or []
        if len(plain) > limit:
            raise _bad_request(too_long)
        return plain, entities

    def _record(self, stored: _Stored) -> _Stored:
        sent = stored.sent
        self._sent[sent.chat_id].append(sent)
        self._stored[(sent.chat_id, sent.message_id)] = stored
        return stored

    def _message_json(self, stored: _Stored) -> JSON:
        sent = stored.sent
        data: JSON = {
            "message_id": sent.message_id,
            "from": self._bot_from(),
            "chat": self._chat(sent.chat_id),
            "date": stored.date,
        }
        if stored.edit_date is not None:
            data["edit_date"] = stored.edit_date
        if sent.kind == "text":
            data["text"] = stored.plain
            if stored.entities:
                data["entities"] = stored.entities
        else:
            data[sent.kind] = copy.deepcopy(stored.media)
            if stored.plain:
                data["caption"] = stored.plain
                if stored.entities:
                    data["caption_entities"] = stored.entities
        # Telegram only echoes inline keyboards back in Message objects.
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            data["reply_markup"] = copy.deepcopy(sent.reply_markup)
        return data

    def _new_file_id(self, kind: str) -> str:
        return f"FAKE{kind.upper()}{next(self._file_ids):06d}"

    def _file_param(
        self, params: JSON, files: dict[str, UploadedFile], name: str
    ) -> tuple[str, str | None, bytes | None, str | None]:
        """Resolve a photo/document parameter: ``(file_id, file_name, bytes, mime_type)``.

        Accepts an upload (``name`` part or an ``attach://`` reference), a file_id the fake
        handed out before, or any other file_id/URL string (kept as a reference)."""
        upload = files.get(name)
        value = params.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            file_id = self._new_file_id(name)
            self._files[file_id] = (upload.filename, upload.data)
            return file_id, upload.filename, upload.data, upload.content_type
        if not value or not isinstance(value, str):
            raise _bad_request(f"there is no {name} in the request")
        if value in self._files:
            file_name, data = self._files[value]
            return value, file_name, data, None
        if value.startswith(("http://", "https://")):
            return value, urlsplit(value).path.rsplit("/", 1)[-1] or None, None, None
        return value, None, None, None

    # ---------------------------------------------------------------- Bot API methods

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        self._confirm(offset)

        assert self._stopping is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping.is_set():
                return batch
            await self._wait_changed(remaining)

    def _confirm(self, offset: int) -> None:
        """Forget updates before ``offset`` (negative: keep only the last ``-offset``)."""
        if offset < 0:
            self._updates = self._updates[offset:]
            offset = self._updates[0]["update_id"] if self._updates else self.confirmed_offset
        if offset > self.confirmed_offset:
            self.confirmed_offset = offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._notify()

    def _deliverable(self, limit: int) -> list[JSON]:
        """Pending updates the bot subscribed to (others are dropped, as Telegram would)."""
        kept = [u for u in self._updates if _update_type(u) in self._allowed_updates]
        self._updates = kept
        batch = copy.deepcopy(kept[:limit])
        for update in batch:
            if update["update_id"] in self._malformed:
                del update["update_id"]
        return batch

    def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._target_chat(params)
        if not str(params.get("text") or "").strip():
            raise _bad_request("message text is empty")
        plain, entities = self._text_of(params, "text", MAX_TEXT_LENGTH, "message is too long")
        if not plain.strip():
            raise _bad_request("message text is empty")
        markup = self._check_markup(params.get("reply_markup"))
        self._check_rate(chat_id)
        sent = SentMessage(
            message_id=next(self._message_ids[chat_id]),
            chat_id=chat_id,
            kind="text",
            text=str(params["text"]),
            caption=None,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            file_name=None,
            file_bytes=None,
        )
        stored = self._record(_Stored(sent, int(time.time()), plain, entities))
        return self._message_json(stored)

    def _send_file(self, params: JSON, files: dict[str, UploadedFile], kind: str) -> JSON:
        chat_id = self._target_chat(params)
        file_id, file_name, data, mime = self._file_param(params, files, kind)
        caption = params.get("caption")
        plain, entities = self._text_of(
            params, "caption", MAX_CAPTION_LENGTH, "message caption is too long"
        )
        markup = self._check_markup(params.get("reply_markup"))
        self._check_rate(chat_id)
        size = len(data) if data is not None else 0
        unique = f"U{file_id}"
        media: Any
        if kind == "photo":
            media = _photo_sizes(file_id, size)
        else:
            media = {"file_id": file_id, "file_unique_id": unique, "file_size": size}
            if file_name:
                media["file_name"] = file_name
            if mime:
                media["mime_type"] = mime
        sent = SentMessage(
            message_id=next(self._message_ids[chat_id]),
            chat_id=chat_id,
            kind=kind,
            text=None,
            caption=None if caption is None else str(caption),
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            file_name=file_name,
            file_bytes=data,
            file_id=file_id,
        )
        stored = self._record(
            _Stored(sent, int(time.time()), plain if caption is not None else None, entities, media)
        )
        return self._message_json(stored)

    def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self._send_file(params, files, "photo")

    def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        file_id = str(params.get("file_id") or "")
        if file_id not in self._user_files:
            raise _bad_request("invalid file_id")
        path, data = self._user_files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self._send_file(params, files, "document")

    def _message_to_edit(self, params: JSON) -> _Stored:
        if "inline_message_id" in params:
            raise _bad_request("inline messages are not supported by the fake")
        chat_id = self._target_chat(params)
        stored = self._stored.get((chat_id, params.get("message_id")))  # type: ignore[arg-type]
        if stored is None:
            raise _bad_request("message to edit not found")
        return stored

    def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._message_to_edit(params)
        if stored.sent.kind != "text":
            raise _bad_request("there is no text in the message to edit")
        if not str(params.get("text") or "").strip():
            raise _bad_request("message text is empty")
        plain, entities = self._text_of(params, "text", MAX_TEXT_LENGTH, "message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        if (plain, entities, markup) == (stored.plain, stored.entities, stored.sent.reply_markup):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        self._check_rate(stored.sent.chat_id)
        sent = stored.sent
        sent.text = str(params["text"])
        sent.parse_mode = params.get("parse_mode")
        sent.reply_markup = markup  # no reply_markup in an edit removes the keyboard
        sent.edits += 1
        stored.plain, stored.entities = plain, entities
        stored.edit_date = int(time.time())
        return self._message_json(stored)

    def _edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._message_to_edit(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == stored.sent.reply_markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored.sent.reply_markup = markup
        stored.sent.edits += 1
        stored.edit_date = int(time.time())
        return self._message_json(stored)

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._issued_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.answered_callbacks[query_id] = params
        return True

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        return self.scope_key(params.get("scope")), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH" if commands else "commands is empty")
        cleaned = []
        for command in commands:
            name = str(command.get("command", "")).removeprefix("/").lower()
            description = str(command.get("description", ""))
            if not _COMMAND_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True


# --------------------------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------------------------


def _photo_sizes(file_id: str, size: int) -> list[JSON]:
    """``PhotoSize`` list (thumbnail + full size) for a photo with the given file_id."""
    return [
        {
            "file_id": f"{file_id}s",
            "file_unique_id": f"U{file_id}s",
            "width": 90,
            "height": 67,
            "file_size": min(size, 1500),
        },
        {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "width": 1280,
            "height": 960,
            "file_size": size,
        },
    ]


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _decode_param(name: str, value: Any) -> Any:
    """Undo Telegram's transport conventions: nested objects as JSON strings, numbers and
    booleans as strings (form/multipart bodies, and PTB's JSON bodies too)."""
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None
    if name in _NUMBER_PARAMS:
        try:
            number = float(value)
        except ValueError:
            raise _bad_request(f"invalid {name} parameter") from None
        return int(number) if number.is_integer() else number
    if name in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    if name == "chat_id" and _INT_RE.fullmatch(value):
        return int(value)
    return value
