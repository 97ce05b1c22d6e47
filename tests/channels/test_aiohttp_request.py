"""Tests for the aiohttp transport, through a real ``telegram.Bot`` against the fake Bot API
(and a tiny recording server where the wire format itself is checked)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels import aiohttp_request
from bot.channels.aiohttp_request import AiohttpRequest
from fakes.bot_api import FakeBotAPI, FakeUser

LAN = FakeUser(id=2001, first_name="Lan")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


def make_bot(fake: FakeBotAPI, **request_kwargs: float | int | None) -> Bot:
    return Bot(
        fake.token,
        base_url=fake.base_url,
        request=AiohttpRequest(**request_kwargs),  # type: ignore[arg-type]
        get_updates_request=AiohttpRequest(),
    )


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(fake) as tg_bot:
        yield tg_bot


def closed_port() -> int:
    """A localhost port nobody listens on (bound by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------ happy paths


async def test_get_me(fake: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "khuyenhoc_test_bot", True)
    assert fake.calls[0] == ("getMe", {})


async def test_send_message_with_inline_keyboard(fake: FakeBotAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Đăng ký", callback_data="register")],
            [InlineKeyboardButton("Trang chủ", url="https://khuyenhoc.vn")],
        ]
    )
    message = await bot.send_message(
        LAN.id, "Chào <b>bạn</b>!", parse_mode="HTML", reply_markup=keyboard
    )

    sent = fake.last_message(LAN.id)
    assert sent.text == "Chào <b>bạn</b>!"
    assert sent.buttons() == [[("Đăng ký", "register")], [("Trang chủ", "https://khuyenhoc.vn")]]
    assert message.text_html == "Chào <b>bạn</b>!"
    assert message.reply_markup == keyboard
    assert fake.calls[-1][1]["reply_markup"] == keyboard.to_dict()


async def test_send_document_multipart(fake: FakeBotAPI, bot: Bot) -> None:
    content = bytes(range(256)) * 40  # binary, with NULs and high bytes
    message = await bot.send_document(
        LAN.id,
        content,
        filename="Danh sách học bổng 2025.xlsx",
        caption="<i>Danh sách</i>",
        parse_mode="HTML",
    )

    sent = fake.last_message(LAN.id)
    assert (sent.kind, sent.file_name, sent.file_bytes) == (
        "document",
        "Danh sách học bổng 2025.xlsx",
        content,
    )
    assert sent.caption == "<i>Danh sách</i>"
    upload = fake.calls[-1][1]["document"]
    assert upload.content_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert message.document.file_name == "Danh sách học bổng 2025.xlsx"


async def test_send_photo_from_file_handle(fake: FakeBotAPI, bot: Bot, tmp_path) -> None:
    path = tmp_path / "poster.jpg"
    path.write_bytes(b"\xff\xd8\xff fake jpeg")
    with path.open("rb") as handle:
        await bot.send_photo(LAN.id, handle)
    sent = fake.last_message(LAN.id)
    assert (sent.kind, sent.file_name, sent.file_bytes) == (
        "photo",
        "poster.jpg",
        b"\xff\xd8\xff fake jpeg",
    )


async def test_long_polling_get_updates(fake: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for(lambda: bool(fake.calls_to("getUpdates")))
    update_id = fake.user_sends(LAN, "/start")
    async with asyncio.timeout(5):
        [update] = await poll
    assert (update.update_id, update.message.text) == (update_id, "/start")


# ------------------------------------------------------------------------------ wire format


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[tuple[dict, bytes]]]]:
    """A server answering ``{"ok": true, "result": true}`` and recording headers + body."""
    seen: list[tuple[dict, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/bot123:X", seen
    finally:
        await runner.cleanup()


async def test_parameters_sent_as_json_with_ptb_user_agent(recorder) -> None:
    url, seen = recorder
    data = RequestData(
        [RequestParameter("chat_id", 5, None), RequestParameter("text", "xin chào", None)]
    )
    async with AiohttpRequest() as request:
        assert await request.post(f"{url}/sendMessage", data) is True

    [(headers, body)] = seen
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == BaseRequest.USER_AGENT
    assert json.loads(body) == {"chat_id": "5", "text": "xin chào"}


# ------------------------------------------------------------------------------ lifecycle


async def test_initialize_and_shutdown_are_idempotent(fake: FakeBotAPI) -> None:
    request = AiohttpRequest()
    await request.shutdown()  # before initialize: no-op
    await request.initialize()
    session = request._session
    await request.initialize()
    assert request._session is session

    await request.shutdown()
    await request.shutdown()
    assert session is not None and session.closed

    await request.initialize()  # usable again after shutdown
    try:
        result = await request.post(f"{fake.base_url}{fake.token}/getMe")
        assert result["username"] == "khuyenhoc_test_bot"  # type: ignore[index]
    finally:
        await request.shutdown()


async def test_use_before_initialize_raises(fake: FakeBotAPI) -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{fake.base_url}{fake.token}/getMe", "POST")
    # Through BaseRequest.post PTB wraps it, exactly as with HTTPXRequest.
    with pytest.raises(NetworkError) as caught:
        await request.post(f"{fake.base_url}{fake.token}/getMe")
    assert isinstance(caught.value.__cause__, RuntimeError)


async def test_read_timeout_property_and_validation() -> None:
    assert AiohttpRequest().read_timeout == 5.0
    assert AiohttpRequest(read_timeout=None).read_timeout is None
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)


# ------------------------------------------------------------------------------ errors


async def test_read_timeout_becomes_timed_out(fake: FakeBotAPI) -> None:
    async with make_bot(fake, read_timeout=0.05) as tg_bot:
        fake.response_delay = 30
        with pytest.raises(TimedOut, match="SocketTimeoutError"):
            await tg_bot.send_message(LAN.id, "chậm")


async def test_per_call_read_timeout_overrides_the_default(fake: FakeBotAPI) -> None:
    async with make_bot(fake, read_timeout=30) as tg_bot:
        fake.response_delay = 30
        with pytest.raises(TimedOut):
            await tg_bot.get_me(read_timeout=0.05)


async def test_connection_refused_becomes_network_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot123:X/getMe"
    async with AiohttpRequest(connect_timeout=2) as request:
        with pytest.raises(NetworkError, match="aiohttp.ClientConnectorError") as caught:
            await request.post(url)
    assert not isinstance(caught.value, TimedOut)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_too_many_requests_becomes_retry_after(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(LAN.id, "a")
    assert caught.value._retry_after.total_seconds() == 5


async def test_connection_pool_size_is_honoured(fake: FakeBotAPI) -> None:
    async with make_bot(fake, connection_pool_size=1, pool_timeout=0.05) as tg_bot:
        fake.response_delay = 30
        slow = asyncio.create_task(tg_bot.send_message(LAN.id, "giữ kết nối"))
        await fake.wait_for(lambda: bool(fake.calls_to("sendMessage")))

        with pytest.raises(TimedOut, match="Pool timeout"):
            await tg_bot.send_message(LAN.id, "không có chỗ")
        assert len(fake.calls_to("sendMessage")) == 1  # never reached the server

        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        fake.response_delay = 0
        await tg_bot.send_message(LAN.id, "slot released")  # the cancelled request freed it

    async with make_bot(fake, connection_pool_size=2, pool_timeout=0.05) as tg_bot:
        fake.response_delay = 30
        calls_before = len(fake.calls_to("sendMessage"))
        both = [asyncio.create_task(tg_bot.send_message(LAN.id, str(n))) for n in range(2)]
        # Both requests are in flight at once.
        await fake.wait_for(lambda: len(fake.calls_to("sendMessage")) == calls_before + 2)
        for task in both:
            task.cancel()
        await asyncio.gather(*both, return_exceptions=True)


# ------------------------------------------------------------------------------ timeout mapping


def test_client_timeout_mapping() -> None:
    timeout = aiohttp_request._client_timeout(5.0, 4.0, 3.0, 1.0)
    assert timeout.sock_read == 5.0
    assert timeout.sock_connect == 3.0
    assert timeout.connect == 4.0  # pool wait + connecting
    assert timeout.total == 13.0  # bounds the write phase aiohttp cannot time on its own
    unbounded = aiohttp_request._client_timeout(None, 4.0, 3.0, 1.0)
    assert (unbounded.total, unbounded.sock_read) == (None, None)


async def test_default_timeouts_and_media_write_timeout(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[tuple[float | None, ...]] = []
    original = aiohttp_request._client_timeout

    def recording(*timeouts: float | None) -> aiohttp.ClientTimeout:
        used.append(timeouts)
        return original(*timeouts)

    monkeypatch.setattr(aiohttp_request, "_client_timeout", recording)
    request = AiohttpRequest(
        read_timeout=1, write_timeout=2, connect_timeout=3, pool_timeout=4, media_write_timeout=9
    )
    async with Bot(fake.token, base_url=fake.base_url, request=request) as tg_bot:
        await tg_bot.send_message(LAN.id, "a")
        await tg_bot.send_document(LAN.id, b"data", filename="a.txt")
        await tg_bot.send_message(LAN.id, "b", read_timeout=7, write_timeout=None)

    # (read, write, connect, pool); getMe first, from Bot.initialize.
    assert used == [(1, 2, 3, 4), (1, 2, 3, 4), (1, 9, 3, 4), (7, None, 3, 4)]
