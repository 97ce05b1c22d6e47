"""Tests for the fake Zalo OA Open API / OAuth server and the signed webhook client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from fakes.zalo_api import (
    ACCESS_TOKEN_PATH,
    SEND_PATH,
    UPLOAD_IMAGE_PATH,
    FakeZaloOA,
    ZaloWebhookClient,
    echo_event,
    follow_event,
    image_event,
    receipt_event,
    signed_event,
    text_event,
    unfollow_event,
)

USER = "8001234567890123456"  # ids exceed 2**53: always strings
OTHER = "8009999999999999999"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOA]:
    async with FakeZaloOA() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def text(user_id: str, body: str) -> dict:
    return {"recipient": {"user_id": user_id}, "message": {"text": body}}


def buttons(count: int, **overrides: Any) -> dict:
    button = {"type": "oa.query.hide", "title": "Có", "payload": "#yes", **overrides}
    return {
        "recipient": {"user_id": USER},
        "message": {
            "text": "Chọn một:",
            "attachment": {"type": "template", "payload": {"buttons": [button] * count}},
        },
    }


def image(element: dict, **message: Any) -> dict:
    return {
        "recipient": {"user_id": USER},
        "message": {
            **message,
            "attachment": {
                "type": "template",
                "payload": {"template_type": "media", "elements": [element]},
            },
        },
    }


async def send(
    http: aiohttp.ClientSession, fake: FakeZaloOA, body: dict, token: str | None = None
) -> tuple[int, dict]:
    headers = {"access_token": fake.access_token if token is None else token}
    async with http.post(f"{fake.api_url}{SEND_PATH}", json=body, headers=headers) as response:
        return response.status, await response.json()


async def refresh(
    http: aiohttp.ClientSession,
    fake: FakeZaloOA,
    refresh_token: str,
    *,
    secret_key: str | None = None,
    app_id: str | None = None,
) -> tuple[int, dict]:
    form = {
        "app_id": fake.app_id if app_id is None else app_id,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    headers = {"secret_key": fake.app_secret if secret_key is None else secret_key}
    url = f"{fake.oauth_url}{ACCESS_TOKEN_PATH}"
    async with http.post(url, data=form, headers=headers) as response:
        return response.status, await response.json()


async def upload(
    http: aiohttp.ClientSession, fake: FakeZaloOA, data: bytes, token: str | None = None
) -> dict:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="chart.png", content_type="image/png")
    headers = {"access_token": fake.access_token if token is None else token}
    url = f"{fake.api_url}{UPLOAD_IMAGE_PATH}"
    async with http.post(url, data=form, headers=headers) as response:
        assert response.status == 200
        return await response.json()


# ------------------------------------------------------------------------------ sending


async def test_send_returns_the_success_envelope(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    status, body = await send(http, fake, text(USER, "Xin chào"))

    assert status == 200
    assert body["error"] == 0
    assert body["message"] == "Success"
    data = body["data"]
    assert data["user_id"] == USER
    assert isinstance(data["message_id"], str) and data["message_id"]
    assert data["sent_time"].isdigit()
    assert data["quota"] == {"quota_type": "reply", "remain": "8", "total": "8"}
    assert fake.sent == [{**text(USER, "Xin chào"), "message_id": data["message_id"]}]
    assert fake.messages_to(USER) == fake.sent
    assert fake.messages_to(OTHER) == []
    assert fake.calls == [(SEND_PATH, {"access_token": "AT-1"}, text(USER, "Xin chào"))]


async def test_message_ids_are_unique(fake: FakeZaloOA, http: aiohttp.ClientSession) -> None:
    ids = {(await send(http, fake, text(USER, f"m{i}")))[1]["data"]["message_id"] for i in range(3)}
    assert len(ids) == 3


async def test_scripted_failures_are_http_200_error_envelopes(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    fake.fail_next(-32, times=2)

    for _ in range(2):
        status, body = await send(http, fake, text(USER, "Xin chào"))
        assert status == 200
        assert body == {"error": -32, "message": "The OA has reached limit call api"}
    status, body = await send(http, fake, text(USER, "Xin chào"))

    assert body["error"] == 0
    assert len(fake.sent) == 1


async def test_scripted_failure_for_one_user_leaves_others_alone(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    fake.fail_next(-213, "User has not followed OA", user_id=OTHER)

    _, to_user = await send(http, fake, text(USER, "a"))
    _, to_other = await send(http, fake, text(OTHER, "b"))
    _, again = await send(http, fake, text(OTHER, "c"))

    assert to_user["error"] == 0
    assert to_other == {"error": -213, "message": "User has not followed OA"}
    assert again["error"] == 0
    assert [m["message"]["text"] for m in fake.sent] == ["a", "c"]


async def test_expired_wrong_or_missing_token_answers_216(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    fake.fail_next(-32)  # not consumed by sends that fail authentication
    expected = {"error": -216, "message": "Access token is invalid"}
    assert (await send(http, fake, text(USER, "x"), token="AT-nope")) == (200, expected)

    fake.expire_token()
    assert (await send(http, fake, text(USER, "x"))) == (200, expected)
    url = f"{fake.api_url}{SEND_PATH}"
    async with http.post(url, json=text(USER, "x")) as response:  # no header at all
        assert (response.status, await response.json()) == (200, expected)
    bearer = {"Authorization": "Bearer AT-1"}
    async with http.post(url, json=text(USER, "x"), headers=bearer) as response:
        assert (await response.json())["error"] == -216
    assert fake.sent == []
    assert (await upload(http, fake, b"png"))["error"] == -216

    _, tokens = await refresh(http, fake, "RT-1")
    token = tokens["access_token"]
    assert (await send(http, fake, text(USER, "x"), token=token))[1]["error"] == -32
    assert (await send(http, fake, text(USER, "x"), token=token))[1]["error"] == 0


async def test_user_outside_the_7_day_window_gets_230(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    now = int(time.time() * 1000)
    fake.set_last_interaction(USER, now - 7 * DAY_MS - 60_000)
    fake.set_last_interaction(OTHER, now - 6 * DAY_MS)

    status, body = await send(http, fake, text(USER, "Nhắc lịch học"))
    assert (status, body) == (
        200,
        {"error": -230, "message": "User has not interacted with the OA in the past 7 days"},
    )
    assert (await send(http, fake, text(OTHER, "ok")))[1]["error"] == 0
    assert (await send(http, fake, text("8000000000000000001", "new")))[1]["error"] == 0
    assert fake.messages_to(USER) == []

    fake.set_last_interaction(USER, now)
    assert (await send(http, fake, text(USER, "again")))[1]["error"] == 0


async def test_text_longer_than_2000_characters_is_refused(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    status, body = await send(http, fake, text(USER, "ă" * 2001))
    assert (status, body) == (200, {"error": -201, "message": "message.text is invalid"})
    assert (await send(http, fake, text(USER, "ă" * 2000)))[1]["error"] == 0
    assert len(fake.sent) == 1


async def test_at_most_five_buttons(fake: FakeZaloOA, http: aiohttp.ClientSession) -> None:
    status, body = await send(http, fake, buttons(6))
    assert status == 200
    assert body["error"] == -201 and "buttons" in body["message"]

    _, ok = await send(http, fake, buttons(5))
    assert ok["error"] == 0
    assert len(fake.messages_to(USER)) == 1


async def test_valid_button_kinds_are_accepted(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    body = buttons(1)
    body["message"]["attachment"]["payload"]["buttons"] = [
        {"type": "oa.query.show", "title": "Đăng ký", "payload": "#dangky"},
        {"type": "oa.query.hide", "title": "T" * 100, "payload": "p" * 1000},
        {"type": "oa.open.url", "title": "Web", "payload": {"url": "https://khuyenhoc.vn"}},
    ]
    assert (await send(http, fake, body))[1]["error"] == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(buttons(1, title="T" * 101), id="title-101"),
        pytest.param(buttons(1, payload="p" * 1001), id="query-payload-1001"),
        pytest.param(buttons(1, payload={"text": "x"}), id="query-payload-object"),
        pytest.param(buttons(1, type="oa.open.url", payload="https://x.vn"), id="url-not-object"),
        pytest.param(buttons(1, type="postback"), id="unknown-button-type"),
        pytest.param(buttons(0), id="no-buttons"),
        pytest.param(text(USER, ""), id="empty-text"),
        pytest.param({"recipient": {"user_id": 8001}, "message": {"text": "x"}}, id="int-id"),
        pytest.param({"recipient": {"id": USER}, "message": {"text": "x"}}, id="recipient.id"),
        pytest.param({"recipient": {"user_id": USER}, "message": "x"}, id="message-string"),
        pytest.param(
            {"recipient": {"user_id": USER}, "message": {"text": "x", "bold": True}},
            id="unknown-message-key",
        ),
        pytest.param(
            image({"media_type": "image", "url": "https://x.vn/a.png", "attachment_id": "A"}),
            id="image-url-and-attachment-id",
        ),
        pytest.param(image({"media_type": "image"}), id="image-no-source"),
        pytest.param(image({"media_type": "gif", "url": "https://x.vn/a.gif"}), id="gif"),
        pytest.param(image({"media_type": "image", "attachment_id": "nope"}), id="unknown-id"),
        pytest.param(
            {
                "recipient": {"user_id": USER},
                "message": {"attachment": {"type": "file", "payload": {"token": "t"}}},
            },
            id="file-attachment",
        ),
    ],
)
async def test_malformed_messages_are_refused_with_201(
    fake: FakeZaloOA, http: aiohttp.ClientSession, body: dict
) -> None:
    status, answer = await send(http, fake, body)

    assert status == 200
    assert answer["error"] == -201
    assert answer["message"].endswith("is invalid")
    assert "data" not in answer
    assert fake.sent == []


async def test_buttons_with_template_type_are_refused(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    body = buttons(2)
    body["message"]["attachment"]["payload"]["template_type"] = "button"
    assert (await send(http, fake, body))[1]["error"] == -201


async def test_upload_returns_an_attachment_id_usable_in_an_image_message(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    answer = await upload(http, fake, png)

    assert answer["error"] == 0 and answer["message"] == "Success"
    attachment_id = answer["data"]["attachment_id"]
    assert isinstance(attachment_id, str) and attachment_id
    assert fake.uploads == [png]
    path, headers, body = fake.calls[-1]
    assert (path, headers) == (UPLOAD_IMAGE_PATH, {"access_token": "AT-1"})
    assert body["file"]["size"] == len(png)

    with_id = image({"media_type": "image", "attachment_id": attachment_id}, text="Biểu đồ")
    by_url = image({"media_type": "image", "url": "https://khuyenhoc.vn/a.png"})
    assert (await send(http, fake, with_id))[1]["error"] == 0
    assert (await send(http, fake, by_url))[1]["error"] == 0
    assert [m["message"].get("text") for m in fake.messages_to(USER)] == ["Biểu đồ", None]


async def test_upload_without_a_file_is_refused(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData()
    form.add_field("image", b"x", filename="a.png")
    url = f"{fake.api_url}{UPLOAD_IMAGE_PATH}"
    async with http.post(url, data=form, headers={"access_token": "AT-1"}) as response:
        assert (await response.json())["error"] == -201
    assert fake.uploads == []


# ------------------------------------------------------------------------------ tokens


async def test_refresh_rotates_both_tokens_and_kills_the_old_ones(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    status, body = await refresh(http, fake, "RT-1")

    assert status == 200
    assert body == {"access_token": "AT-2", "refresh_token": "RT-2", "expires_in": "90000"}
    assert isinstance(body["expires_in"], str)
    assert (fake.access_token, fake.refresh_token, fake.refreshes) == ("AT-2", "RT-2", 1)
    _, headers, form = fake.calls[-1]
    assert headers == {"secret_key": "app-secret"}
    assert form == {"app_id": "1234567890", "grant_type": "refresh_token", "refresh_token": "RT-1"}

    status, reused = await refresh(http, fake, "RT-1")
    assert status == 200
    assert reused["error"] == -14020
    assert reused["error_name"] == "Invalid refresh token"
    assert "access_token" not in reused
    assert fake.refreshes == 1

    assert (await send(http, fake, text(USER, "x"), token="AT-1"))[1]["error"] == -216
    assert (await send(http, fake, text(USER, "x"), token="AT-2"))[1]["error"] == 0


async def test_refresh_after_expire_token_restores_sending(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    fake.expire_token()
    assert (await send(http, fake, text(USER, "x")))[1]["error"] == -216

    _, body = await refresh(http, fake, fake.refresh_token)

    assert (await send(http, fake, text(USER, "x"), token=body["access_token"]))[1]["error"] == 0
    assert (await refresh(http, fake, body["refresh_token"]))[1]["access_token"] == "AT-3"
    assert fake.refreshes == 2


@pytest.mark.parametrize(
    ("secret_key", "app_id"),
    [("wrong", None), ("", None), (None, "999")],
    ids=["wrong-secret", "empty-secret", "wrong-app-id"],
)
async def test_bad_secret_key_is_an_http_200_oauth_error(
    fake: FakeZaloOA, http: aiohttp.ClientSession, secret_key: str | None, app_id: str | None
) -> None:
    status, body = await refresh(http, fake, "RT-1", secret_key=secret_key, app_id=app_id)

    assert status == 200
    assert body["error"] == -14014
    assert body["error_name"] == "Invalid secret key"
    assert body["error_reason"] and body["error_description"]
    assert "access_token" not in body
    assert (fake.access_token, fake.refresh_token, fake.refreshes) == ("AT-1", "RT-1", 0)


async def test_refresh_sent_as_json_is_refused(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    form = {"app_id": fake.app_id, "grant_type": "refresh_token", "refresh_token": "RT-1"}
    url = f"{fake.oauth_url}{ACCESS_TOKEN_PATH}"
    async with http.post(url, json=form, headers={"secret_key": "app-secret"}) as response:
        body = await response.json()
    assert response.status == 200
    assert "access_token" not in body and body["error"] < 0 and body["error_name"]
    assert (fake.refresh_token, fake.refreshes) == ("RT-1", 0)


async def test_overlapping_refreshes_with_the_same_token_only_one_wins(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeZaloOA(response_delay=0.05) as fake:
        results = await asyncio.gather(refresh(http, fake, "RT-1"), refresh(http, fake, "RT-1"))

    bodies = sorted((body for _, body in results), key=lambda b: "error" in b)
    assert bodies[0]["refresh_token"] == "RT-2"
    assert bodies[1]["error"] == -14020
    assert fake.refreshes == 1


async def test_response_delay_does_not_block_other_requests(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeZaloOA(response_delay=60.0) as fake:
        slow = asyncio.create_task(refresh(http, fake, "RT-1"))
        await fake.wait_for(lambda: fake.refreshes == 1)  # processed on arrival
        fake.response_delay = 0.0

        _, reused = await refresh(http, fake, "RT-1")
        assert reused["error"] == -14020
        assert (await send(http, fake, text(USER, "x"), token="AT-2"))[1]["error"] == 0
        assert not slow.done()
    # stop() releases the delayed answer at once
    assert (await slow)[1]["access_token"] == "AT-2"


# ------------------------------------------------------------------------------ misc HTTP


async def test_unknown_path_is_404(fake: FakeZaloOA, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{fake.api_url}/v2.0/oa/message", json={}) as response:
        assert response.status == 404
    async with http.get(f"{fake.api_url}{SEND_PATH}") as response:
        assert response.status == 404
    assert [path for path, _, _ in fake.calls] == ["/v2.0/oa/message", SEND_PATH]


async def test_wait_for_messages_wakes_on_a_send(
    fake: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    sender = asyncio.create_task(send(http, fake, text(USER, "Chào bạn")))

    [message] = await fake.wait_for_messages(USER, 1)

    assert message["message"]["text"] == "Chào bạn"
    await sender
    with pytest.raises(TimeoutError, match="2 message"):
        await fake.wait_for_messages(USER, 2, timeout=0.01)


# ------------------------------------------------------------------------------ webhook side


def test_signed_event_matches_the_documented_formula() -> None:
    event = text_event("1234567890", "5550001", USER, "Tôi muốn đăng ký học bổng")

    raw, headers = signed_event("1234567890", "oa-secret-key", event)

    assert json.loads(raw) == event
    assert "Tôi muốn".encode() in raw  # raw UTF-8, not \u escapes
    expected = hashlib.sha256(
        ("1234567890" + raw.decode("utf-8") + event["timestamp"] + "oa-secret-key").encode()
    ).hexdigest()
    assert headers["X-ZEvent-Signature"] == "mac=" + expected
    assert headers["Content-Type"] == "application/json"
    hmac_digest = hmac.new(b"oa-secret-key", raw, hashlib.sha256).hexdigest()
    assert headers["X-ZEvent-Signature"] != "mac=" + hmac_digest


def test_signed_event_signs_raw_bytes_as_given() -> None:
    raw_in = b'{ "event_name" : "user_send_text",  "timestamp": "1717061839659" }'

    raw, headers = signed_event("42", "k", raw_in)

    assert raw == raw_in
    digest = hashlib.sha256(b"42" + raw_in + b"1717061839659" + b"k").hexdigest()
    assert headers["X-ZEvent-Signature"] == f"mac={digest}"


def test_event_shapes() -> None:
    app_id, oa_id = "1234567890", "5550001"

    msg = text_event(app_id, oa_id, USER, "hi", msg_id="m1", timestamp_ms=1717061839659)
    assert msg["event_name"] == "user_send_text"
    assert (msg["sender"], msg["recipient"]) == ({"id": USER}, {"id": oa_id})
    assert msg["message"] == {"text": "hi", "msg_id": "m1"}
    assert msg["timestamp"] == "1717061839659"
    assert msg["user_id_by_app"].isdigit() and msg["user_id_by_app"] != USER
    assert (
        text_event(app_id, oa_id, USER, "x")["message"]["msg_id"]
        != text_event(app_id, oa_id, USER, "x")["message"]["msg_id"]
    )

    follow = follow_event(app_id, oa_id, USER)
    assert follow["event_name"] == "follow"
    assert follow["follower"] == {"id": USER}
    assert follow["oa_id"] == oa_id and follow["app_id"] == app_id
    assert follow["source"] and follow["user_id_by_app"] == msg["user_id_by_app"]
    assert unfollow_event(app_id, oa_id, USER)["event_name"] == "unfollow"

    picture = image_event(app_id, oa_id, USER, "https://x.vn/p.jpg")
    assert picture["event_name"] == "user_send_image"
    [attachment] = picture["message"]["attachments"]
    assert attachment["type"] == "image"
    assert attachment["payload"]["url"] == "https://x.vn/p.jpg"
    assert "thumbnail" in attachment["payload"] and picture["message"]["msg_id"]

    for event in (echo_event(app_id, oa_id, USER), receipt_event(app_id, oa_id, USER)):
        assert (event["sender"], event["recipient"]) == ({"id": oa_id}, {"id": USER})
    assert echo_event(app_id, oa_id, USER)["event_name"] == "oa_send_text"
    assert receipt_event(app_id, oa_id, USER)["event_name"] == "user_seen_message"
    assert (
        receipt_event(app_id, oa_id, USER, "user_received_message")["event_name"]
        == "user_received_message"
    )
    for event in (msg, follow, picture, echo_event(app_id, oa_id, USER)):
        assert isinstance(event["timestamp"], str) and event["timestamp"].isdigit()


async def test_webhook_client_posts_signed_events() -> None:
    received: list[tuple[bytes, str | None]] = []

    async def webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        signature = request.headers.get("X-ZEvent-Signature")
        received.append((raw, signature))
        timestamp = json.loads(raw).get("timestamp", "")
        digest = hashlib.sha256(b"1234567890" + raw + timestamp.encode() + b"oa-secret-key")
        ok = signature is not None and hmac.compare_digest(signature, "mac=" + digest.hexdigest())
        return web.Response(status=200 if ok else 401, text="ok" if ok else "bad signature")

    app = web.Application()
    app.router.add_post("/zalo/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo/webhook"
    try:
        async with ZaloWebhookClient(url, "1234567890", "oa-secret-key") as client:
            event = text_event("1234567890", "5550001", USER, "Xin chào")
            assert await client.post(event) == 200
            assert client.last_text == "ok"
            assert await client.post(event, signature="mac=bad") == 401
            assert await client.post(event, signature="") == 401
            assert await client.post({}) == 200  # the registration probe shape
    finally:
        await runner.cleanup()

    assert [signature for _, signature in received][1:3] == ["mac=bad", None]
    assert json.loads(received[0][0]) == event
