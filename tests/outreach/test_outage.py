"""A Bot API outage during a broadcast (issue 16): the outbox waits for Telegram instead of
burning every delivery to "failed", says so, and nothing is lost — nor a member's reply."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services.outreach import AudienceFilter
from fakes.bot_api import FakeUser
from tests.outreach.conftest import seed, start_bot, wait_done

SENDER = 4242  # the staff member who sent it: their chat gets the progress report
DOWN_TEXT = "Telegram đang gián đoạn"


async def test_an_outage_longer_than_the_retries_loses_nothing(settings, fake):
    app = await start_bot(settings, fake, broadcast_rate=200.0, chat_interval=0.05)
    try:
        members = await seed(app, 40)
        assert (await app.health())["telegram_api"] == "up"
        fake.outage()  # 500 to everything but getUpdates
        announcement = await app.outreach.announce(
            "cli", "Khai mạc Tuần lễ", AudienceFilter(), report_to=("telegram", str(SENDER), "vi")
        )
        await fake.wait_for(lambda: app.worker.down(), 5, description="the outbox sees it")
        health = await app.health()
        assert health["telegram_api"].startswith("down since") and health["ok"] is False

        member = FakeUser(9001, "Hoa")
        fake.user_sends(member, "/start")  # answered once Telegram is back
        # Longer than the old five retries (0.05 + 0.1 + 0.2 + 0.4 s): several probes pass.
        await fake.wait_for(lambda: len(fake.calls_to("getMe")) >= 6, 10, description="probes")
        await fake.wait_for(
            lambda: any(c["chat_id"] == member.id for c in fake.calls_to("sendMessage")), 5
        )
        await fake.wait_for(lambda: any(DOWN_TEXT in t for t in _reports(fake)), 5)
        during = await app.store.announcements.get(announcement.id)
        counts = await app.store.announcements.counts(announcement.id)
        assert during.status == "sending"
        assert counts["failed"] == 0 and counts["sent"] == 0
        assert counts["pending"] + counts["sending"] == 40
        assert fake.messages(member.id) == []

        fake.recover()
        await wait_done(app, announcement.id, timeout=15)
        for seeded in members:
            [message] = fake.messages(int(seeded.chat_id))
            assert message.text == "Khai mạc Tuần lễ"
        counts = await app.store.announcements.counts(announcement.id)
        assert counts["sent"] == 40 and counts["failed"] == 0
        await fake.wait_for_messages(member.id, 1, timeout=10)  # the reply, after the outage
        health = await app.health()
        assert health["telegram_api"] == "up" and health["ok"] is True
    finally:
        await app.close()


def _reports(fake):
    """What the bot tried to tell the sender (during the outage, the tries fail too)."""
    return [
        str(params.get("text", ""))
        for name, params in fake.calls
        if name in ("sendMessage", "editMessageText") and params.get("chat_id") == SENDER
    ]


async def test_what_waited_past_the_expiry_ends_skipped_with_the_reason(settings, fake):
    app = await start_bot(settings, fake, broadcast_rate=200.0, chat_interval=0.05)
    try:
        await seed(app, 3)
        fake.outage(502, "Bad Gateway")
        expires = app.services.clock() + timedelta(seconds=1.5)
        announcement = await app.outreach.announce(
            "cli", "Hết hạn", AudienceFilter(), expires=expires
        )
        await wait_done(app, announcement.id, timeout=10)
        assert app.services.clock() >= expires  # waited for Telegram until then, no longer
        rows = await app.store.db.fetchall(
            "SELECT status, attempts, last_error FROM deliveries WHERE announcement_id = ?",
            (announcement.id,),
        )
        assert [r["status"] for r in rows] == ["skipped"] * 3
        assert all(r["last_error"].startswith("expired after: channel down") for r in rows)
        assert all(r["attempts"] <= 1 for r in rows)
    finally:
        fake.recover()
        await app.close()


async def test_staff_resend_an_announcement_to_those_it_missed(live, fake):
    app, _ = live
    reached, missed, blocked = await seed(app, 3)
    fake.fail_chat(int(missed.chat_id), 502, "Bad Gateway", times=5)  # this chat only
    fake.fail_chat(int(blocked.chat_id), 403, "Forbidden: bot was blocked by the user")
    first = await app.outreach.announce("cli", "Họp chi hội", AudienceFilter())
    await wait_done(app, first.id)
    assert (await app.store.announcements.counts(first.id))["failed"] == 1

    again = await app.outreach.resend_missed(first.id, "cli")
    assert again is not None and again.audience.missed_from == first.id
    await wait_done(app, again.id)
    assert again.id != first.id and (await app.store.announcements.get(again.id)).total == 1
    assert [m.text for m in fake.messages(int(missed.chat_id))] == ["Họp chi hội"]
    assert len(fake.messages(int(reached.chat_id))) == 1  # not twice
    assert fake.messages(int(blocked.chat_id)) == []
    assert await app.outreach.resend_missed(again.id, "cli") is None  # it missed nobody


async def test_a_resend_waits_until_the_announcement_is_done(live, fake):
    app, _ = live
    await seed(app, 1)
    later = await app.outreach.announce(
        "cli", "Sau", AudienceFilter(), at=app.services.clock() + timedelta(hours=1)
    )
    with pytest.raises(ValueError, match="scheduled"):
        await app.outreach.resend_missed(later.id, "cli")
    with pytest.raises(LookupError):
        await app.outreach.resend_missed(later.id + 100, "cli")


async def test_without_expires_at_an_announcement_waits_a_day_from_its_start(live, fake):
    app, _ = live
    await seed(app, 1)
    fake.outage()
    try:
        announcement = await app.outreach.announce("cli", "Chờ", AudienceFilter())
        await fake.wait_for(lambda: app.worker.down(), 5)

        async def waiting():
            return (await app.store.announcements.counts(announcement.id))["pending"] == 1

        await app.worker.until(waiting, 5)
        started = (await app.store.announcements.get(announcement.id)).started_at
        day = app.worker.default_expiry
        assert day == timedelta(hours=24)
        for hours, skipped in ((23, 0), (24, 1)):
            now = started + timedelta(hours=hours)
            assert await app.store.deliveries.skip_expired(now, now - day) == skipped
        [row] = await app.store.db.fetchall(
            "SELECT status, last_error FROM deliveries WHERE announcement_id = ?",
            (announcement.id,),
        )
        assert row["status"] == "skipped" and row["last_error"].startswith("expired after")
    finally:
        fake.recover()


async def test_replies_wait_out_an_outage_in_order_without_holding_up_others(live, fake):
    app, _ = live
    first, other = await seed(app, 2)
    hoa, lan = FakeUser(int(first.chat_id), "Hoa"), FakeUser(int(other.chat_id), "Lan")
    fake.fail_chat(hoa.id, 502, "Bad Gateway", times=12)  # ~2 s of tries for her chat
    fake.user_sends(hoa, "/help")
    fake.user_sends(hoa, "/plans")
    await fake.wait_for(lambda: _tries(fake, hoa.id) >= 2, 5)
    fake.user_sends(lan, "/settings")
    await fake.wait_for_messages(lan.id, 1, timeout=5)
    assert fake.messages(hoa.id) == []  # still trying; Lan was not kept waiting
    help_, plans = await fake.wait_for_messages(hoa.id, 2, timeout=10)
    assert help_.visible_text().startswith("Hướng dẫn")
    assert plans.visible_text().startswith("Kế hoạch của Hội")


def _tries(fake, chat_id):
    return sum(1 for c in fake.calls_to("sendMessage") if c["chat_id"] == chat_id)
