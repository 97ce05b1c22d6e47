"""The poller that feeds python-telegram-bot raw updates: it survives errors, stops on a rejected
token, and confirms what it fetched when it stops, so no update is handled twice or lost."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.channels.telegram import TelegramChannel
from fakes.bot_api import FakeBotAPI, FakeUser

LAN = FakeUser(id=1001, first_name="Lan")


@pytest.fixture
async def fake():
    async with FakeBotAPI() as server:
        yield server


async def start(app, fake, token: str | None = None) -> TelegramChannel:
    channel = TelegramChannel.build(
        app.dispatcher, token or fake.token, fake.base_url, app.store.inbound, poll_timeout=1
    )
    channel.poller.backoff_base = 0.01  # the test waits on events, not on seconds of back-off
    await channel.start()
    return channel


async def test_errors_from_get_updates_are_waited_out_and_nothing_is_lost(app, fake, caplog):
    channel = await start(app, fake)
    try:
        fake.fail_next("getUpdates", 502, "Bad Gateway", times=3)
        with caplog.at_level(logging.WARNING):
            update_id = fake.user_sends(LAN, "/start")
            await fake.wait_until_acknowledged(update_id)
        welcome = await fake.wait_for_messages(LAN.id, 1)
        assert "Tiếng Việt" in welcome[0].button_texts()
        assert any("getUpdates failed" in r.message for r in caplog.records)
        assert channel.poller.failures == 0  # back to normal
    finally:
        await channel.close()


async def test_a_restart_does_not_handle_an_update_twice(app, fake):
    channel = await start(app, fake)
    update_id = fake.user_sends(LAN, "/start")
    await fake.wait_for_messages(LAN.id, 1)
    await channel.close()
    assert fake.confirmed_offset > update_id  # a restart will not handle /start again

    again = await start(app, fake)
    try:
        fake.user_sends(LAN, "/plans")
        messages = await fake.wait_for_messages(LAN.id, 2)
        # A repeated /start would have been answered before /plans, in the chat's order.
        assert "Kế hoạch" in messages[1].visible_text()
    finally:
        await again.close()


async def test_a_rejected_token_stops_polling_with_a_clear_log(app, fake, caplog):
    channel = TelegramChannel.build(
        app.dispatcher, fake.token, fake.base_url, app.store.inbound, poll_timeout=1
    )
    channel.poller.backoff_base = 0.01
    await channel.start()
    try:
        fake.fail_next("getUpdates", 401, "Unauthorized")
        with caplog.at_level(logging.CRITICAL):
            await asyncio.wait_for(channel.poller.ended.wait(), 5)
        assert not channel.poller.running
        assert any("token was rejected" in r.message for r in caplog.records)
    finally:
        await channel.close()


async def test_an_update_without_update_id_is_logged_and_polling_goes_on(app, fake, caplog):
    channel = await start(app, fake)
    try:
        with caplog.at_level(logging.WARNING):
            fake.push_malformed_update({"message": {"text": "?"}})
            fake.user_sends(LAN, "/start")
            await fake.wait_for_messages(LAN.id, 1)
        assert channel.poller.running
        assert any("without an update_id" in r.message for r in caplog.records)
    finally:
        await asyncio.wait_for(channel.close(), 5)  # shutdown still works


async def test_an_unexpected_error_in_the_poller_is_logged_and_survived(app, fake, caplog):
    channel = await start(app, fake)
    try:
        with caplog.at_level(logging.WARNING):
            real_put = channel.poller.queue.put
            broken = {"times": 1}

            async def put_once_broken(update):
                if broken["times"]:
                    broken["times"] -= 1
                    raise RuntimeError("queue broke")
                await real_put(update)

            channel.poller.queue.put = put_once_broken
            fake.user_sends(LAN, "/start")
            await fake.wait_for_messages(LAN.id, 1)
        assert channel.poller.running
        assert any("polling failed unexpectedly" in r.message for r in caplog.records)
    finally:
        await asyncio.wait_for(channel.close(), 5)


async def test_an_update_is_confirmed_once_kept_and_leaves_the_log_once_handled(app, fake):
    """Telegram may forget an update as soon as it is stored; the log holds it until its
    answer is out, and new updates of other chats are not held up meanwhile."""
    channel = await start(app, fake)
    try:
        fake.hang_chat(LAN.id, 3)
        update_id = fake.user_sends(LAN, "/start")
        await fake.wait_for(lambda: fake.calls_to("sendMessage"), timeout=5)
        other = FakeUser(id=1002, first_name="Minh")
        fake.user_sends(other, "/start")
        await fake.wait_for_messages(other.id, 1)
        assert fake.confirmed_offset > update_id  # kept: Telegram need not hold it
        await fake.wait_for(lambda: channel.poller._in_hand == {update_id}, timeout=5)
        await channel.poller.confirm()  # releases the handled ones now, not in 50 ms
        [body] = await app.store.inbound.pending("telegram")  # Minh's is handled and gone
        assert json.loads(body)["update_id"] == update_id
        await fake.wait_for_messages(LAN.id, 1, timeout=10)
        await fake.wait_for(lambda: not channel.poller._in_hand, timeout=5)
        await channel.poller.confirm()
        assert await app.store.inbound.pending("telegram") == []
    finally:
        await channel.close()


async def test_updates_a_crashed_run_kept_are_handled_at_the_next_start(app, fake):
    """A run killed after Telegram forgot an update (it was kept) but before answering it."""
    update = {
        "update_id": 77,
        "message": {
            "message_id": 5,
            "date": 1_700_000_000,
            "chat": {"id": LAN.id, "type": "private", "first_name": LAN.first_name},
            "from": {"id": LAN.id, "is_bot": False, "first_name": LAN.first_name},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    await app.store.inbound.keep("telegram", [(77, json.dumps(update))])
    channel = await start(app, fake)
    try:
        [answer] = await fake.wait_for_messages(LAN.id, 1)
        assert answer.visible_text()
        await fake.wait_for(lambda: not channel.poller._in_hand, timeout=5)
        await channel.poller.confirm()
        assert await app.store.inbound.pending("telegram") == []
    finally:
        await channel.close()
