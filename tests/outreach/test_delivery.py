"""The outbox against the fake Bot API: every recipient's final state, faults, limits, timing."""

from __future__ import annotations

from datetime import timedelta

from bot.services.outreach import AudienceFilter
from tests.outreach.conftest import seed, wait_done


async def test_clean_broadcast_reaches_everyone_once_without_429(live, fake):
    app, _ = live
    fake.global_rate = 250  # the fake enforces a limit above the bot's 200/s
    members = await seed(app, 60)
    announcement = await app.outreach.announce(
        "cli", "<b>Khai mạc</b> Tuần lễ học tập suốt đời", AudienceFilter()
    )
    await wait_done(app, announcement.id)
    for member in members:
        [message] = fake.messages(int(member.chat_id))
        assert message.visible_text() == "Khai mạc Tuần lễ học tập suốt đời"
        assert message.parse_mode == "HTML"
    counts = await app.store.announcements.counts(announcement.id)
    assert counts["sent"] == 60 and counts["failed"] == counts["pending"] == 0
    assert fake.rejected_429 == 0
    done = await app.store.announcements.get(announcement.id)
    assert done.total == 60 and done.finished_at is not None


async def test_faults_end_in_the_right_state(live, fake):
    app, _ = live
    ok, flood, blocked, gone, flaky, broken, slow = await seed(app, 7)
    fake.fail_chat(int(flood.chat_id), 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.fail_chat(int(blocked.chat_id), 403, "Forbidden: bot was blocked by the user")
    fake.fail_chat(int(gone.chat_id), 400, "Bad Request: chat not found")
    fake.fail_chat(int(flaky.chat_id), 500, "Internal Server Error", times=2)
    fake.fail_chat(int(broken.chat_id), 502, "Bad Gateway", times=50)
    fake.hang_chat(int(slow.chat_id), 1.0)  # longer than the 0.5 s read timeout

    announcement = await app.outreach.announce("cli", "Thông báo", AudienceFilter())
    await wait_done(app, announcement.id, timeout=15)

    rows = {
        r["user_id"]: r
        for r in await app.store.db.fetchall(
            "SELECT * FROM deliveries WHERE announcement_id = ?", (announcement.id,)
        )
    }
    assert rows[ok.id]["status"] == "sent" and rows[ok.id]["attempts"] == 1
    assert rows[flood.id]["status"] == "sent"  # waited out retry_after, then went on
    assert rows[blocked.id]["status"] == "blocked"
    assert (await app.store.users.get(blocked.id)).status == "blocked"
    assert rows[gone.id]["status"] == "failed"
    assert "chat not found" in rows[gone.id]["last_error"].lower()
    assert len([c for c in fake.calls_to("sendMessage") if c["chat_id"] == int(gone.chat_id)]) == 1
    assert rows[flaky.id]["status"] == "sent" and rows[flaky.id]["attempts"] == 3
    assert rows[broken.id]["status"] == "failed" and rows[broken.id]["attempts"] == 5
    assert "Bad Gateway" in rows[broken.id]["last_error"]
    assert rows[slow.id]["status"] == "sent"  # a timeout is retried (at-least-once)
    assert len(fake.messages(int(slow.chat_id))) in (1, 2)


async def test_stopped_blocked_and_unconsented_members_get_nothing(live, fake):
    app, _ = live
    active, stopped, blocked = await seed(app, 3)
    [no_consent] = await seed(app, 1, start=6000, consent=False)
    await app.store.users.update(stopped.id, status="stopped")
    await app.store.users.update(blocked.id, status="blocked")
    announcement = await app.outreach.announce("cli", "Chỉ người đang nhận", AudienceFilter())
    await wait_done(app, announcement.id)
    assert len(fake.messages(int(active.chat_id))) == 1
    for member in (stopped, blocked, no_consent):
        assert fake.messages(int(member.chat_id)) == []
    assert (await app.store.announcements.get(announcement.id)).total == 1


async def test_expired_announcements_are_skipped_not_sent_late(live, fake):
    app, _ = live
    [member] = await seed(app, 1)
    now = app.services.clock()
    announcement = await app.outreach.announce(
        "cli", "Quá hạn", AudienceFilter(), expires=now - timedelta(seconds=1)
    )
    await wait_done(app, announcement.id)
    counts = await app.store.announcements.counts(announcement.id)
    assert counts["skipped"] == 1 and counts["sent"] == 0
    assert fake.messages(int(member.chat_id)) == []


async def test_scheduled_goes_out_on_time_and_cancelled_never(live, fake):
    app, _ = live
    [member] = await seed(app, 1)
    now = app.services.clock()
    due = now + timedelta(seconds=1)
    later = await app.outreach.announce("cli", "Đúng giờ", AudienceFilter(), at=due)
    cancelled = await app.outreach.announce(
        "cli", "Đã hủy", AudienceFilter(), at=now + timedelta(seconds=0.6)
    )
    await app.outreach.cancel(cancelled.id)
    assert fake.messages(int(member.chat_id)) == []
    [message] = await fake.wait_for_messages(int(member.chat_id), 1, timeout=5)
    arrived = app.services.clock()
    assert message.text == "Đúng giờ"
    assert due <= arrived <= due + timedelta(seconds=1.5)
    await wait_done(app, later.id)
    assert (await app.store.announcements.get(cancelled.id)).status == "cancelled"
    assert [m.text for m in fake.messages(int(member.chat_id))] == ["Đúng giờ"]


async def test_public_announcements_also_go_to_the_announce_chat(settings, fake):
    from tests.outreach.conftest import start_bot

    app = await start_bot(settings, fake, broadcast_rate=200.0, announce_chat_id="-100777")
    try:
        await seed(app, 2)
        public = await app.outreach.announce("cli", "Cho mọi người", AudienceFilter())
        narrow = await app.outreach.announce(
            "cli", "Chỉ một phường", AudienceFilter(areas=("31135",))
        )
        await wait_done(app, public.id)
        await wait_done(app, narrow.id)
        assert [m.text for m in fake.messages(-100777)] == ["Cho mọi người"]
    finally:
        await app.close()


async def test_a_photo_is_uploaded_once_then_reused(live, fake, tmp_path):
    app, _ = live
    members = await seed(app, 5)
    picture = tmp_path / "poster.png"
    picture.write_bytes(b"\x89PNG fake poster bytes")
    announcement = await app.outreach.announce(
        "cli", "Áp phích Tuần lễ", AudienceFilter(), photo=str(picture)
    )
    await wait_done(app, announcement.id)
    uploads = [c for c in fake.calls_to("sendPhoto") if not isinstance(c.get("photo"), str)]
    assert len(uploads) == 1
    for member in members:
        [message] = fake.messages(int(member.chat_id))
        assert message.kind == "photo" and message.caption == "Áp phích Tuần lễ"
    assert (await app.store.announcements.get(announcement.id)).photo_file_id


async def test_paid_broadcasts_ask_telegram_for_it(live, fake):
    app, _ = live
    app.outreach.paid = True  # PAID_BROADCAST=1
    [member] = await seed(app, 1)
    announcement = await app.outreach.announce("cli", "Trả phí", AudienceFilter())
    await wait_done(app, announcement.id)
    [call] = [c for c in fake.calls_to("sendMessage") if c["chat_id"] == int(member.chat_id)]
    assert call["allow_paid_broadcast"] is True
