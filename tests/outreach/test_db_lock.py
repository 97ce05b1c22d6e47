"""Another process holds the database's write lock during a broadcast: no delivery outcome is
lost (the announcement finishes, nobody gets it twice) and a member who writes meanwhile still
gets an answer."""

from __future__ import annotations

from bot.records import AudienceFilter
from bot.store import db as db_module
from fakes.bot_api import FakeUser
from tests.lockers import LogSeen, OtherWriter
from tests.outreach.conftest import seed, start_bot, wait_done

MEMBERS = 12


async def test_outcomes_written_while_locked_are_kept_until_they_land(
    settings, fake, catalog, monkeypatch
):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 20, raising=False)
    app = await start_bot(settings, fake, broadcast_rate=200.0)
    app.store.db.lock_patience = 0.2  # the flush gives up while the lock is held
    other = OtherWriter(app.store.db.path)
    try:
        members = await seed(app, MEMBERS)
        fake.response_delay = 0.2  # the sends are out when the lock is taken, their outcomes not
        # The outcomes' own write (the flush's one transaction) fails, not just a later step.
        with LogSeen("bot.services.outreach", "still locked: BEGIN IMMEDIATE") as failed:
            announcement = await app.outreach.announce("cli", "Họp chi hội", AudienceFilter())

            async def all_in_flight() -> bool:
                counts = await app.store.announcements.counts(announcement.id)
                return counts.get("sending") == MEMBERS

            await app.worker.until(all_in_flight, 10)
            other.lock()
            await failed.wait()
        other.release()
        fake.response_delay = 0
        await wait_done(app, announcement.id)
        counts = await app.store.announcements.counts(announcement.id)
        assert counts.get("sent") == MEMBERS, counts
        for member in members:
            assert len(fake.messages(int(member.chat_id))) == 1
    finally:
        other.release()
        await app.close()


async def test_a_member_writing_during_a_long_lock_gets_a_polite_answer(
    settings, fake, catalog, monkeypatch
):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 20, raising=False)
    app = await start_bot(settings, fake, broadcast_rate=200.0)
    app.store.db.lock_patience = 0.2
    other = OtherWriter(app.store.db.path)
    try:
        [member] = await seed(app, 1)
        other.lock()
        fake.user_sends(FakeUser(id=int(member.chat_id), first_name="M"), "/help")
        [answer] = await fake.wait_for_messages(int(member.chat_id), 1, timeout=10)
        assert "Hội đang bận" in (answer.visible_text() or "")
    finally:
        other.release()
        await app.close()
