"""Tests for the fake Bot API server: raw HTTP semantics, and real python-telegram-bot
(both transports) running against it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from bot.channels.aiohttp_request import AiohttpRequest
from fakes.bot_api import FakeBotAPI, FakeUser, SentMessage

# httpx makes an SSL context (reading the CA bundle: 25 ms) for each client, and a PTB Bot has
# two; one made once the way httpx makes it serves them all.
_SSL_CONTEXT = {"verify": httpx.create_ssl_context()}


def httpx_bot(token: str, base_url: str) -> Bot:
    """A real PTB Bot on its default transport (httpx, with PTB's default pool sizes)."""
    return Bot(
        token,
        base_url=base_url,
        request=HTTPXRequest(httpx_kwargs=_SSL_CONTEXT),
        get_updates_request=HTTPXRequest(connection_pool_size=1, httpx_kwargs=_SSL_CONTEXT),
    )


LAN = FakeUser(id=1001, first_name="Lan", username="lan_ct")
MINH = FakeUser(id=1002, first_name="Minh", language_code="en")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    """A real PTB Bot on the default (httpx) transport."""
    async with httpx_bot(fake.token, fake.base_url) as tg_bot:
        yield tg_bot


async def call(
    http: aiohttp.ClientSession, fake: FakeBotAPI, method: str, **params: Any
) -> tuple[int, dict]:
    """POST ``params`` as a JSON body; return (HTTP status, decoded answer)."""
    async with http.post(f"{fake.base_url}{fake.token}/{method}", json=params) as response:
        return response.status, await response.json()


async def get_updates(http: aiohttp.ClientSession, fake: FakeBotAPI, **params: Any) -> list[dict]:
    status, body = await call(http, fake, "getUpdates", **params)
    assert status == 200, body
    return body["result"]


# ------------------------------------------------------------------------------ HTTP basics


async def test_get_me_describes_the_bot(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, fake, "getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["id"] == 123456
    assert body["result"]["username"] == "khuyenhoc_test_bot"
    assert body["result"]["is_bot"] is True
    assert fake.calls == [("getMe", {})]


async def test_unknown_method_is_404_and_wrong_token_401(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, fake, "sendTelepathy", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async with http.get(f"{fake.base_url}999:WRONG/getMe") as response:
        assert response.status == 401
    with pytest.raises(InvalidToken):
        async with httpx_bot("999:WRONG", fake.base_url):
            pass


async def test_method_names_are_case_insensitive_and_get_works(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    url = f"{fake.base_url}{fake.token}/sendmessage"
    async with http.get(url, params={"chat_id": "5", "text": "xin chào"}) as response:
        body = await response.json()
    assert body["result"]["text"] == "xin chào"
    assert fake.calls[-1] == ("sendMessage", {"chat_id": 5, "text": "xin chào"})


@pytest.mark.parametrize("encoding", ["json-strings", "json-native", "form", "multipart"])
async def test_parameters_decoded_from_every_body_encoding(
    fake: FakeBotAPI, http: aiohttp.ClientSession, encoding: str
) -> None:
    markup = {"inline_keyboard": [[{"text": "Đăng ký", "callback_data": "reg"}]]}
    strings = {
        "chat_id": "77",
        "text": "123",  # stays a string: only known numeric params are converted
        "reply_markup": json.dumps(markup),
        "disable_notification": "true",
    }
    url = f"{fake.base_url}{fake.token}/sendMessage"
    if encoding == "json-strings":
        request = http.post(url, json=strings)
    elif encoding == "json-native":
        native = {**strings, "chat_id": 77, "reply_markup": markup, "disable_notification": True}
        request = http.post(url, json=native)
    elif encoding == "form":
        request = http.post(url, data=strings)
    else:
        form = aiohttp.FormData(default_to_multipart=True)
        for key, value in strings.items():
            form.add_field(key, value)
        request = http.post(url, data=form)
    async with request as response:
        assert response.status == 200, await response.text()

    assert fake.calls[-1] == (
        "sendMessage",
        {"chat_id": 77, "text": "123", "reply_markup": markup, "disable_notification": True},
    )
    assert fake.last_message(77).buttons() == [[("Đăng ký", "reg")]]


# ------------------------------------------------------------------------------ getUpdates


async def test_get_updates_offset_semantics(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    first = fake.user_sends(LAN, "một")
    second = fake.user_sends(LAN, "hai")
    third = fake.user_sends(MINH, "ba")

    everything = await get_updates(http, fake)
    assert [u["update_id"] for u in everything] == [first, second, third]
    assert fake.confirmed_offset == 0  # fetching without offset acknowledges nothing

    assert [u["update_id"] for u in await get_updates(http, fake, offset=second)] == [
        second,
        third,
    ]
    assert fake.confirmed_offset == second
    # Confirmed updates are gone for good, even when asking with a lower offset again.
    assert [u["update_id"] for u in await get_updates(http, fake, offset=first)] == [
        second,
        third,
    ]
    limited = await get_updates(http, fake, offset=second, limit=1)
    assert [u["update_id"] for u in limited] == [second]

    assert await get_updates(http, fake, offset=third + 1) == []
    assert fake.confirmed_offset == third + 1
    await fake.wait_until_acknowledged(third, timeout=0.1)


async def test_negative_offset_keeps_only_the_newest(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    ids = [fake.user_sends(LAN, str(n)) for n in range(4)]
    assert [u["update_id"] for u in await get_updates(http, fake, offset=-2)] == ids[2:]
    assert [u["update_id"] for u in await get_updates(http, fake)] == ids[2:]


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    poll = asyncio.create_task(get_updates(http, fake, offset=1, timeout=30))
    await fake.wait_for(lambda: len(fake.calls_to("getUpdates")) == 1)
    assert not poll.done()

    update_id = fake.user_sends(LAN, "/start")
    async with asyncio.timeout(2):  # far below the 30 s long-poll timeout
        updates = await poll
    assert [u["update_id"] for u in updates] == [update_id]


async def test_long_poll_without_updates_returns_empty_after_timeout(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    assert await get_updates(http, fake, timeout=0.05) == []


async def test_stop_ends_pending_long_polls(http: aiohttp.ClientSession) -> None:
    fake = FakeBotAPI()
    await fake.start()
    poll = asyncio.create_task(get_updates(http, fake, timeout=30))
    await fake.wait_for(lambda: bool(fake.calls))
    async with asyncio.timeout(5):
        await fake.stop()
        assert await poll == []


async def test_allowed_updates_filters_and_is_remembered(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    sent = await call(http, fake, "sendMessage", chat_id=LAN.id, text="Chọn:")
    message_id = sent[1]["result"]["message_id"]
    fake.user_sends(LAN, "bỏ qua")
    press = fake.user_presses(LAN, message_id, "pick")

    updates = await get_updates(http, fake, allowed_updates=["callback_query"])
    assert [u["update_id"] for u in updates] == [press]
    fake.user_sends(LAN, "vẫn bỏ qua")  # the filter persists without allowed_updates
    assert [u["update_id"] for u in await get_updates(http, fake)] == [press]

    # An empty list restores Telegram's default set.
    message = fake.user_sends(LAN, "nhận")
    updates = await get_updates(http, fake, offset=press + 1, allowed_updates=[])
    assert [u["update_id"] for u in updates] == [message]


async def test_webhook_blocks_get_updates_until_deleted(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    assert (await call(http, fake, "setWebhook", url="https://example.org/hook"))[0] == 200
    _, body = await call(http, fake, "getWebhookInfo")
    assert body["result"]["url"] == "https://example.org/hook"
    assert (await call(http, fake, "getUpdates"))[0] == 409

    fake.user_sends(LAN, "cũ")
    await call(http, fake, "deleteWebhook", drop_pending_updates=True)
    assert await get_updates(http, fake) == []


# ------------------------------------------------------------------------------ simulated users


async def test_user_sends_builds_parseable_updates(fake: FakeBotAPI, bot: Bot) -> None:
    fake.user_sends(LAN, "/start@khuyenhoc_test_bot ref_cantho")
    fake.user_sends(MINH, "xin chào", chat_id=-1001234, chat_type="supergroup")
    fake.user_sends(LAN, "/help", chat_id=-555)  # negative id: a group, not a private chat

    command, group, small_group = await bot.get_updates()

    assert command.message.text == "/start@khuyenhoc_test_bot ref_cantho"
    assert command.message.parse_entities() == {
        command.message.entities[0]: "/start@khuyenhoc_test_bot"
    }
    assert command.message.chat.type == "private"
    assert command.message.chat.id == LAN.id
    assert command.effective_user.username == "lan_ct"
    assert command.effective_user.language_code == "vi"

    assert group.message.chat.type == "supergroup"
    assert group.message.chat.id == -1001234
    assert group.message.entities == ()
    assert group.effective_user.id == MINH.id
    assert small_group.message.chat.type == "group"


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "location", "document"])
async def test_user_sends_media(fake: FakeBotAPI, bot: Bot, kind: str) -> None:
    fake.user_sends_media(LAN, kind)
    [update] = await bot.get_updates()
    attribute = getattr(update.message, kind)
    assert attribute, f"{kind} missing from {update.message}"
    assert update.message.text is None


async def test_user_sends_media_rejects_unknown_kind(fake: FakeBotAPI) -> None:
    with pytest.raises(ValueError, match="unsupported media kind"):
        fake.user_sends_media(LAN, "hologram")


async def test_user_presses_carries_the_current_message(fake: FakeBotAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Tìm hiểu", callback_data="more")]])
    await bot.send_message(
        LAN.id, "<b>Hội</b> Khuyến học", parse_mode="HTML", reply_markup=keyboard
    )
    message = fake.last_message(LAN.id)
    first = fake.user_presses(LAN, message, "more")
    second = fake.user_presses(LAN, message.message_id, "more")

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    query = updates[0].callback_query
    assert query.data == "more"
    assert query.from_user.id == LAN.id
    assert query.message.message_id == message.message_id
    assert query.message.text == "Hội Khuyến học"
    assert query.message.text_html == "<b>Hội</b> Khuyến học"
    assert query.message.reply_markup == keyboard
    assert updates[0].callback_query.id != updates[1].callback_query.id

    assert await query.answer("Đã nhận", show_alert=True)
    assert fake.answered_callbacks[query.id] == {
        "callback_query_id": query.id,
        "text": "Đã nhận",
        "show_alert": True,
    }
    with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
        await bot.answer_callback_query("not-a-real-query")
    with pytest.raises(LookupError):
        fake.user_presses(LAN, 9999, "x")


async def test_blocked_user_gets_403_until_unblocked(fake: FakeBotAPI, bot: Bot) -> None:
    blocked = fake.user_blocks(LAN)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(LAN.id, "Bạn còn đó không?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(LAN.id, "typing")
    await bot.send_message(MINH.id, "others are unaffected")

    unblocked = fake.user_unblocks(LAN)
    await bot.send_message(LAN.id, "Chào mừng trở lại")
    assert [m.text for m in fake.messages(LAN.id)] == ["Chào mừng trở lại"]

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [blocked, unblocked]
    change: ChatMemberUpdated = updates[0].my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    assert change.new_chat_member.user.id == 123456
    assert updates[1].my_chat_member.new_chat_member.status == "member"


async def test_push_update_assigns_ids(fake: FakeBotAPI, bot: Bot) -> None:
    raw = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "text": "raw",
        },
    }
    update_id = fake.push_update(raw)
    assert update_id != 777
    [update] = await bot.get_updates()
    assert (update.update_id, update.message.text) == (update_id, "raw")


# ------------------------------------------------------------------------------ sending


async def test_send_message_is_recorded_and_returned(fake: FakeBotAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Học bổng", callback_data="scholarship")],
            [InlineKeyboardButton("Website", url="https://khuyenhoc.vn")],
        ]
    )
    text = "Chào <b>bạn</b> 👋 <i>&lt;3</i>"
    returned = await bot.send_message(
        LAN.id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
    )

    [sent] = fake.messages(LAN.id)
    assert sent == fake.last_message(LAN.id)
    assert (sent.kind, sent.text, sent.parse_mode) == ("text", text, "HTML")
    assert sent.visible_text() == "Chào bạn 👋 <3"
    assert sent.buttons() == [[("Học bổng", "scholarship")], [("Website", "https://khuyenhoc.vn")]]
    assert sent.button_texts() == ["Học bổng", "Website"]
    assert sent.edits == 0

    assert returned.message_id == sent.message_id
    assert returned.chat.id == LAN.id
    assert returned.from_user.id == 123456
    assert returned.text == "Chào bạn 👋 <3"
    assert returned.text_html == text
    assert returned.reply_markup == keyboard
    assert fake.messages(MINH.id) == []
    with pytest.raises(LookupError):
        fake.last_message(MINH.id)


async def test_reply_keyboard_buttons(fake: FakeBotAPI, bot: Bot) -> None:
    from telegram import ReplyKeyboardMarkup

    returned = await bot.send_message(
        LAN.id, "Chọn", reply_markup=ReplyKeyboardMarkup([["A", "B"]])
    )
    assert fake.last_message(LAN.id).buttons() == [[("A", ""), ("B", "")]]
    assert returned.reply_markup is None  # Telegram only echoes inline keyboards


async def test_message_ids_are_per_chat_and_shared_with_user_messages(
    fake: FakeBotAPI, bot: Bot
) -> None:
    fake.user_sends(LAN, "/start")  # message 1 in Lan's chat
    first = await bot.send_message(LAN.id, "a")
    other = await bot.send_message(MINH.id, "b")
    assert (first.message_id, other.message_id) == (2, 1)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "<b>" + "x" * 4097 + "</b>", "parse_mode": "HTML"}, "message is too long"),
        ({"text": "   "}, "message text is empty"),
        ({"text": "<blink>hi</blink>", "parse_mode": "HTML"}, "can't parse entities"),
        ({"text": "<b>unclosed", "parse_mode": "HTML"}, "can't parse entities"),
        (
            {
                "text": "hi",
                "reply_markup": InlineKeyboardMarkup(
                    # 22 × "ệ" is 22 characters but 66 UTF-8 bytes.
                    [[InlineKeyboardButton("x", callback_data="ệ" * 22)]]
                ),
            },
            "BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_send_message_validation(
    fake: FakeBotAPI, bot: Bot, kwargs: dict, error: str
) -> None:
    # PTB strips "Bad Request: " and capitalizes the description.
    with pytest.raises(BadRequest, match=f"(?i){re.escape(error)}"):
        await bot.send_message(LAN.id, **kwargs)
    assert fake.messages(LAN.id) == []


async def test_send_message_limits_count_visible_characters(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(LAN.id, "ệ" * 4096)
    await bot.send_message(LAN.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(
        LAN.id,
        "hi",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 64)]]),
    )
    assert len(fake.messages(LAN.id)) == 3


async def test_edit_message_text_reflects_and_validates(fake: FakeBotAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Tiếp", callback_data="next")]])
    message = await bot.send_message(LAN.id, "Bước 1", reply_markup=keyboard)
    sent = fake.last_message(LAN.id)

    edited = await bot.edit_message_text(
        "Bước 2", LAN.id, message.message_id, reply_markup=keyboard
    )
    assert (sent.text, sent.edits, sent.button_texts()) == ("Bước 2", 1, ["Tiếp"])
    assert edited.edit_date is not None
    assert fake.messages(LAN.id) == [sent]  # edited in place, not a new message

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Bước 2", LAN.id, message.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("?", LAN.id, 4242)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("?", MINH.id, message.message_id)

    # Like Telegram, an edit without reply_markup removes the inline keyboard.
    await bot.edit_message_text("<b>Xong</b>", LAN.id, message.message_id, parse_mode="HTML")
    assert (sent.text, sent.parse_mode, sent.buttons(), sent.edits) == (
        "<b>Xong</b>",
        "HTML",
        [],
        2,
    )


async def test_edit_message_reply_markup(fake: FakeBotAPI, bot: Bot) -> None:
    message = await bot.send_message(LAN.id, "Chọn")
    sent = fake.last_message(LAN.id)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="y")]])

    await bot.edit_message_reply_markup(LAN.id, message.message_id, reply_markup=keyboard)
    assert (sent.buttons(), sent.edits, sent.text) == ([[("Có", "y")]], 1, "Chọn")
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(LAN.id, message.message_id, reply_markup=keyboard)
    await bot.edit_message_reply_markup(LAN.id, message.message_id)
    assert sent.buttons() == []


async def test_send_document_and_photo_uploads(fake: FakeBotAPI, bot: Bot) -> None:
    pdf = b"%PDF-1.4 tai lieu \x00\xff"
    document = await bot.send_document(
        LAN.id, pdf, filename="Thư mời.pdf", caption="<b>Thư mời</b>", parse_mode="HTML"
    )
    sent = fake.last_message(LAN.id)
    assert (sent.kind, sent.file_name, sent.file_bytes) == ("document", "Thư mời.pdf", pdf)
    assert (sent.caption, sent.visible_text()) == ("<b>Thư mời</b>", "Thư mời")
    assert document.document.file_name == "Thư mời.pdf"
    assert document.document.file_size == len(pdf)
    assert document.caption_html == "<b>Thư mời</b>"

    # Re-sending by file_id reuses the stored upload.
    await bot.send_document(MINH.id, document.document.file_id)
    again = fake.last_message(MINH.id)
    assert (again.file_name, again.file_bytes, again.file_id) == (
        "Thư mời.pdf",
        pdf,
        document.document.file_id,
    )

    photo = await bot.send_photo(LAN.id, b"\x89PNG fake", filename="poster.png")
    assert fake.last_message(LAN.id).kind == "photo"
    assert fake.last_message(LAN.id).file_bytes == b"\x89PNG fake"
    assert photo.photo[-1].file_size == len(b"\x89PNG fake")

    await bot.send_photo(LAN.id, "https://example.org/img/banner.jpg", caption="Banner")
    by_url = fake.last_message(LAN.id)
    assert (by_url.file_name, by_url.file_bytes, by_url.caption) == ("banner.jpg", None, "Banner")

    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(LAN.id, "AgACfileid", caption="x" * 1025)


async def test_send_chat_action(fake: FakeBotAPI, bot: Bot) -> None:
    assert await bot.send_chat_action(LAN.id, "typing")
    assert fake.calls[-1] == ("sendChatAction", {"chat_id": LAN.id, "action": "typing"})
    with pytest.raises(BadRequest):
        await bot.send_chat_action(LAN.id, "dancing")


async def test_commands_per_scope_and_language(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")])
    await bot.set_my_commands(
        [BotCommand("start", "Start")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )
    private_key = FakeBotAPI.scope_key({"type": "all_private_chats"})
    assert fake.commands == {
        ("default", ""): [
            {"command": "start", "description": "Bắt đầu"},
            {"command": "help", "description": "Trợ giúp"},
        ],
        (private_key, "en"): [{"command": "start", "description": "Start"}],
    }
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="fr") == ()

    await bot.delete_my_commands()
    assert list(fake.commands) == [(private_key, "en")]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


# ------------------------------------------------------------------------------ failure injection


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_fail_next(fake: FakeBotAPI, http: aiohttp.ClientSession, bot: Bot) -> None:
    fake.fail_next("sendMessage", times=2)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)

    status, body = await call(http, fake, "sendMessage", chat_id=1, text="a")
    assert (status, body) == (
        500,
        {"ok": False, "error_code": 500, "description": "Internal Server Error"},
    )
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(1, "b")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "c")
    assert caught.value._retry_after.total_seconds() == 7
    assert fake.rejected_429 == 1

    await bot.send_message(1, "d")
    assert [m.text for m in fake.messages(1)] == ["d"]
    assert [name for name, _ in fake.calls] == ["getMe"] + ["sendMessage"] * 4


async def test_per_chat_rate_limit(http: aiohttp.ClientSession) -> None:
    async with FakeBotAPI(per_chat_rate=0.1) as fake:  # one message per 10 s per chat
        assert (await call(http, fake, "sendMessage", chat_id=1, text="a"))[0] == 200
        status, body = await call(http, fake, "sendMessage", chat_id=1, text="b")
        assert status == 429
        assert body["description"].startswith("Too Many Requests: retry after ")
        assert 1 <= body["parameters"]["retry_after"] <= 10
        assert (await call(http, fake, "sendMessage", chat_id=2, text="c"))[0] == 200
        status, _ = await call(http, fake, "editMessageText", chat_id=1, message_id=1, text="x")
        assert status == 429
        # Methods that are not sends are never limited.
        assert (await call(http, fake, "sendChatAction", chat_id=1, action="typing"))[0] == 200
        assert fake.rejected_429 == 2
        assert [m.text for m in fake.messages(1)] == ["a"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_global_rate_limit_surfaces_as_retry_after(fake: FakeBotAPI) -> None:
    async with (
        FakeBotAPI(global_rate=2) as limited,
        httpx_bot(limited.token, limited.base_url) as tg_bot,
    ):
        await tg_bot.send_message(1, "a")
        await tg_bot.send_message(2, "b")
        with pytest.raises(RetryAfter):
            await tg_bot.send_message(3, "c")
        assert limited.rejected_429 == 1


async def test_response_delay_does_not_block_other_requests(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeBotAPI(response_delay=30) as fake:
        slow = asyncio.create_task(call(http, fake, "sendMessage", chat_id=1, text="slow"))
        await fake.wait_for(lambda: bool(fake.calls))
        async with asyncio.timeout(5):
            assert await get_updates(http, fake) == []  # answered while the send is delayed
        assert not slow.done()
        assert fake.messages(1) == []  # the delay happens before processing
        fake.response_delay = 0
    # Stopping the server released the delayed answer.
    assert (await slow)[0] == 200


async def test_wait_for_times_out_with_a_clear_message(fake: FakeBotAPI) -> None:
    with pytest.raises(TimeoutError, match=r"2 bot message\(s\) in chat 5"):
        await fake.wait_for_messages(5, 2, timeout=0.01)
    with pytest.raises(TimeoutError, match="never_true"):

        def never_true() -> bool:
            return False

        await fake.wait_for(never_true, timeout=0.01)


# ------------------------------------------------------------------------------ PTB Application


def _build_app(fake: FakeBotAPI, transport: str) -> Application:
    builder = ApplicationBuilder().token(fake.token).base_url(fake.base_url)
    if transport == "aiohttp":
        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    return builder.build()


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_application_end_to_end(fake: FakeBotAPI, transport: str) -> None:
    app = _build_app(fake, transport)
    membership: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(
            f"Chào <b>{update.effective_user.first_name}</b>!",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Học bổng", callback_data="scholarship")]]
            ),
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(
            f"{query.message.text_html}\nBạn chọn: {query.data}", parse_mode="HTML"
        )

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        membership.append(update.my_chat_member.new_chat_member.status)

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))

    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0)
        try:
            fake.user_sends(LAN, "/start")
            [welcome] = await fake.wait_for_messages(LAN.id, 1)
            assert welcome.text == "Chào <b>Lan</b>!"
            assert welcome.button_texts() == ["Học bổng"]

            press = fake.user_presses(LAN, welcome, "scholarship")
            await fake.wait_for(lambda: welcome.edits == 1)
            assert welcome.text == "Chào <b>Lan</b>!\nBạn chọn: scholarship"
            assert welcome.buttons() == []
            assert len(fake.answered_callbacks) == 1
            await fake.wait_until_acknowledged(press)

            blocked = fake.user_blocks(LAN)
            await fake.wait_until_acknowledged(blocked)
            await fake.wait_for(lambda: membership == ["kicked"])
        finally:
            await app.updater.stop()
            await app.stop()

    assert [name for name, _ in fake.calls[:2]] == ["getMe", "deleteWebhook"]
    assert fake.confirmed_offset > blocked


def test_sent_message_helpers_without_a_server() -> None:
    message = SentMessage(
        message_id=1,
        chat_id=1,
        kind="text",
        text="<i>a</i> &amp; b",
        caption=None,
        parse_mode="HTML",
        reply_markup=None,
        file_name=None,
        file_bytes=None,
    )
    assert (message.buttons(), message.button_texts(), message.visible_text()) == ([], [], "a & b")
