"""`khuyenhoc chat` beside the real bot: it never takes, skips or miscounts a delivery meant for
another channel, and says which database it uses and whether it runs background work."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace

from bot.app import App
from bot.records import AudienceFilter
from bot.services.maintenance import RunLock
from bot.store.db import utc_now
from fakes.bot_api import FakeBotAPI
from tests.conftest import CONTENT
from tests.outreach.conftest import seed, start_bot, wait_done
from tests.shared import shared_catalog


async def chat(database, tmp_path, script: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "KHUYENHOC_"))}
    env.update(CONTENT_DIR=str(CONTENT), DATABASE_PATH=str(tmp_path / "elsewhere.sqlite3"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "chat",
        "--db",
        str(database),
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(script.encode()), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_chat_on_the_bots_database_leaves_telegram_deliveries_to_the_bot(
    settings, tmp_path
):
    app = await App.create(settings, clock=utc_now, catalog=shared_catalog())
    [member] = await seed(app, 1, area_code="31393")
    announcement = await app.outreach.announce("cli", "Họp chi hội", AudienceFilter(("31393",)))
    await app.close()

    # The chat runs its own outbox and timers (nobody else holds the database) ...
    code, out, err = await chat(settings.database_path, tmp_path, "/start\n/help\n")
    assert code == 0, err
    assert "Kính chào" in out
    assert str(settings.database_path) in err and "hiện ngay tại đây" in err

    # ... and leaves the Telegram member's delivery alone: still waiting, counted once.
    app = await App.create(settings, clock=utc_now, catalog=shared_catalog())
    try:
        started = await app.outreach.get(announcement.id)
        counts = await app.store.announcements.counts(announcement.id)
        assert started.total == 1 and counts["pending"] == 1 and counts["skipped"] == 0
    finally:
        await app.close()

    async with FakeBotAPI() as fake:  # the real bot comes up and sends it
        bot = await start_bot(replace(settings, broadcast_rate=200.0), fake)
        try:
            await wait_done(bot, announcement.id)
            assert [m.visible_text() for m in fake.messages(int(member.chat_id))] == ["Họp chi hội"]
            counts = await bot.store.announcements.counts(announcement.id)
            assert (counts["sent"], sum(counts.values())) == (1, 1)
        finally:
            await bot.close()


async def test_a_chat_beside_a_running_bot_runs_no_background_work(settings, tmp_path):
    app = await App.create(settings, clock=utc_now, catalog=shared_catalog())
    await seed(app, 1, area_code="31393")
    announcement = await app.outreach.announce("cli", "Họp chi hội", AudienceFilter(("31393",)))
    await app.close()
    with RunLock(settings.database_path):  # as `khuyenhoc run` holds it
        code, out, err = await chat(settings.database_path, tmp_path, "/start\n")
    assert code == 0, err
    assert "Kính chào" in out
    assert "không tự gửi thông báo" in err
    app = await App.create(settings, clock=utc_now, catalog=shared_catalog())
    try:
        assert (await app.outreach.get(announcement.id)).status == "scheduled"  # not started
    finally:
        await app.close()


async def test_chat_uses_its_own_database_by_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "KHUYENHOC_"))}
    env.update(CONTENT_DIR=str(CONTENT), DATABASE_PATH=str(tmp_path / "data" / "bot.sqlite3"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "chat",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(b"/start\n"), 60)
    assert process.returncode == 0, err.decode()
    assert (tmp_path / "data" / "chat.sqlite3").exists()
    assert not (tmp_path / "data" / "bot.sqlite3").exists()
    assert "chat.sqlite3" in err.decode()
