"""Running it for real: webhook secret, health, metrics, backups, pruning, logs without names."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta

import aiohttp
import pytest

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.records import AudienceFilter, Session
from bot.services import maintenance
from bot.store import files
from bot.store.db import utc_now
from fakes.bot_api import FakeBotAPI, FakeUser
from tests.outreach.conftest import seed, start_bot, wait_done
from tests.shared import shared_catalog

LAN = FakeUser(id=1001, first_name="Lan Nguyễn")


@pytest.fixture
async def served(settings, tmp_path, catalog):
    """A bot in webhook mode behind its HTTP server, with the background work running."""
    async with FakeBotAPI() as fake:
        app = await start_bot(
            settings,
            fake,
            broadcast_rate=200.0,
            webhook_url="https://bot.example.org/telegram",
            webhook_secret="s3cret-token",
        )
        async with aiohttp.ClientSession(f"http://127.0.0.1:{app.web.port}") as http:
            yield app, fake, http
        await app.close()


def update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "text": text,
            "chat": {"id": LAN.id, "type": "private", "first_name": LAN.first_name},
            "from": LAN.to_json(),
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else [],
        },
    }


async def test_webhook_accepts_only_the_right_secret(served):
    _, fake, http = served
    [registered] = fake.calls_to("setWebhook")
    assert registered["url"] == "https://bot.example.org/telegram"
    assert registered["secret_token"] == "s3cret-token"
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        async with http.post("/telegram", json=update(1, "/start"), headers=headers) as answer:
            assert answer.status == 403
    async with http.post(
        "/telegram",
        json=update(2, "/start"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
    ) as answer:
        assert answer.status == 200
    [welcome] = await fake.wait_for_messages(LAN.id, 1)
    assert "Kính chào Lan Nguyễn!" in welcome.visible_text()
    assert len(fake.messages(LAN.id)) == 1  # the refused ones were never processed


async def test_a_webhook_call_is_answered_only_once_its_update_is_handled(served):
    """Telegram forgets an update once its webhook call is answered: answered early, a crash
    in between would lose the member's message."""
    _, fake, http = served
    fake.response_delay = 0.2  # the answer takes its time
    async with http.post(
        "/telegram",
        json=update(3, "/help"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
    ) as answer:
        assert answer.status == 200
        assert fake.messages(LAN.id)  # the answer had gone out before Telegram was told


async def test_a_webhook_repeat_of_an_update_in_hand_is_not_handled_twice(served):
    """Telegram sends an update again when its call was not answered in time; the repeat
    waits for the first one's handling instead of being handled again."""
    _, fake, http = served
    fake.response_delay = 0.2

    async def post() -> int:
        async with http.post(
            "/telegram",
            json=update(4, "/help"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
        ) as answer:
            return answer.status

    assert await asyncio.gather(post(), post()) == [200, 200]
    assert len(fake.messages(LAN.id)) == 1


async def test_health_turns_503_when_the_scheduler_stops(served):
    app, _, http = served
    async with http.get("/healthz") as answer:
        report = await answer.json()
        assert answer.status == 200
        assert report["database"] == "ok" and report["scheduler"] == "running"
        assert report["outbox_backlog"] == 0
    app.scheduler.shutdown()
    async with http.get("/healthz") as answer:
        assert answer.status == 503
        assert (await answer.json())["scheduler"] == "stopped"


async def test_metrics_count_traffic(served):
    app, fake, http = served
    async with http.post(
        "/telegram",
        json=update(5, "/help"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
    ):
        pass
    await fake.wait_for_messages(LAN.id, 1)
    await seed(app, 3)
    announcement = await app.outreach.announce("cli", "Thông báo", AudienceFilter())
    await wait_done(app, announcement.id)
    async with http.get("/metrics") as answer:
        text = await answer.text()
    assert 'khuyenhoc_updates_total{channel="telegram",kind="command"} 1.0' in text
    assert 'khuyenhoc_deliveries_total{status="sent"} 3.0' in text
    assert "khuyenhoc_handler_seconds_count 1.0" in text
    assert 'khuyenhoc_channel{channel="telegram",counter="updates_dropped"} 0.0' in text
    assert "khuyenhoc_outbox_depth 0.0" in text
    async with http.get("/healthz") as answer:
        assert "telegram" in (await answer.json())["last_update"]


async def test_backup_during_writes_restores_a_sound_database(app, settings, tmp_path):
    await seed(app, 50)

    async def keep_writing() -> None:
        for n in range(200):
            await app.store.users.seen(
                "telegram", f"w{n}", chat_id=f"w{n}", display_name="", locale="vi"
            )

    writer = asyncio.create_task(keep_writing())
    out = await maintenance.backup(settings.database_path, tmp_path / "backup.sqlite3")
    await writer
    assert files.integrity(out) == "ok"
    copied = sqlite3.connect(out).execute("SELECT count(*) FROM users").fetchone()[0]
    assert 50 <= copied <= 250

    with pytest.raises(maintenance.DatabaseInUse):  # the bot (simulated by its lock) is running
        with maintenance.RunLock(settings.database_path):
            await maintenance.restore(out, settings.database_path)
    await app.close()
    target = tmp_path / "restored.sqlite3"
    await maintenance.restore(out, target)
    assert files.integrity(target) == "ok"
    assert sqlite3.connect(target).execute("SELECT count(*) FROM users").fetchone()[0] == copied


async def test_daily_backups_keep_the_newest(app, settings, tmp_path, clock):
    folder = tmp_path / "backups"
    for day in range(4):
        await maintenance.daily_backup(
            settings.database_path, folder, 2, clock() + timedelta(days=day)
        )
    assert [p.name for p in sorted(folder.iterdir())] == [
        "khuyenhoc-20260930-0100.sqlite3",
        "khuyenhoc-20261001-0100.sqlite3",
    ]


async def test_pruning_keeps_announcement_totals(app, clock):
    members = await seed(app, 6)
    announcement = await app.outreach.announce("cli", "Cũ", AudienceFilter())
    await app.store.announcements.start_sending(announcement, [], None)
    rows = await app.store.db.fetchall("SELECT id FROM deliveries")
    from bot.records import Outcome

    await app.store.deliveries.record(
        [Outcome(r["id"], "sent" if i < 5 else "blocked", 1) for i, r in enumerate(rows)]
    )
    await app.store.announcements.finish_if_done(announcement.id)
    await app.store.sessions.save(members[0].id, Session("x", {}))
    assert await app.store.sessions.first_time_seen("zalo", "msg-1")
    before = await app.store.announcements.counts(announcement.id)
    clock.advance(days=200)
    summary = await maintenance.prune(app.store, clock(), 180)
    assert summary["deliveries"] == 6 and summary["announcements"] == 1
    assert summary["sessions"] == 1 and summary["inbound_seen"] == 1
    assert (await app.store.db.fetchone("SELECT count(*) FROM deliveries"))[0] == 0
    assert await app.store.announcements.counts(announcement.id) == before
    assert before["sent"] == 5 and before["blocked"] == 1


async def test_no_chat_id_or_name_in_info_logs(settings, caplog, catalog):
    from tests.channels.test_telegram import Phone

    caplog.set_level(logging.INFO)  # for the whole test: shutdown drains the last updates
    async with FakeBotAPI() as fake:
        app = await App.create(settings, clock=utc_now, catalog=shared_catalog())
        channel = TelegramChannel.build(
            app.dispatcher, fake.token, fake.base_url, app.store.inbound, poll_timeout=1
        )
        await channel.start()
        try:
            phone = Phone(fake, LAN)
            await phone.send("/start")
            await phone.press("Tiếng Việt")
            await phone.press("Đồng ý")
            await phone.send("/khongco")
            await fake.wait_until_acknowledged(fake.user_blocks(LAN))
            await fake.wait_until_acknowledged(fake.user_unblocks(LAN))
            fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
            await fake.wait_until_acknowledged(fake.user_sends(LAN, "/help"))
        finally:
            await channel.close()  # every update fetched is handled before this returns
            await app.close()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("blocked" in line for line in lines) >= 2, lines
    for line in lines:
        assert str(LAN.id) not in line and "Lan" not in line, line


async def test_a_full_disk_leaves_no_half_backup(app, tmp_path, monkeypatch):
    import errno

    from bot.store import files

    def disk_full(source, target):
        target.write_bytes(b"SQLite format 3\x00 half")  # what was written before space ran out
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "copy", disk_full)
    out = tmp_path / "backups" / "today.sqlite3"
    with pytest.raises(maintenance.BackupFailed, match="No space left"):
        await maintenance.backup(app.settings.database_path, out)
    assert list(out.parent.iterdir()) == []  # neither the copy nor a .part to mistake for one
