import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.records import AudienceFilter
from bot.store import Store
from bot.store import db as db_module
from bot.store.db import migrations
from tests.lockers import LogSeen, OtherWriter


async def test_migrations_set_user_version_and_pragmas(tmp_path):
    store = await Store.open(tmp_path / "a.sqlite3")
    try:
        assert await store.db.schema_version() == len(migrations())
        assert (await store.db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await store.db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await store.db.fetchone("PRAGMA busy_timeout"))[0] == 5000
    finally:
        await store.close()
    again = await Store.open(tmp_path / "a.sqlite3")  # re-opening applies nothing twice
    try:
        assert await again.db.migrate() == len(migrations())
    finally:
        await again.close()


async def test_users_are_recorded_once_and_touched(database_at):
    moments = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)])
    store = await Store.open(await database_at("b"), clock=lambda: next(moments))
    try:
        first, created = await store.users.seen(
            "telegram", "42", chat_id="42", display_name="An", locale="vi"
        )
        second, created_again = await store.users.seen(
            "telegram", "42", chat_id="42", display_name="An Nguyễn", locale="en"
        )
        assert created and not created_again
        assert first.id == second.id
        assert second.display_name == "An Nguyễn" and second.locale == "vi"
        assert second.last_seen_at > first.last_seen_at
        with pytest.raises(ValueError):
            await store.users.update(first.id, id=5)
    finally:
        await store.close()


async def test_transaction_rolls_back_on_error(database_at):
    store = await Store.open(await database_at("c"))
    try:
        with pytest.raises(RuntimeError):
            async with store.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO users (channel, external_id, chat_id, created_at, last_seen_at)"
                    " VALUES ('x', '1', '1', 't', 't')"
                )
                raise RuntimeError("abort")
        assert (await store.db.fetchone("SELECT count(*) FROM users"))[0] == 0
    finally:
        await store.close()


async def test_forget_cascades(database_at):
    from bot.records import Session

    store = await Store.open(await database_at("d"))
    try:
        user, _ = await store.users.seen(
            "telegram", "7", chat_id="7", display_name="B", locale="vi"
        )
        await store.sessions.save(user.id, Session("s", {"flow": "o"}))
        assert (await store.users.personal_data_counts(user.id))["sessions"] == 1
        assert (await store.users.forget(user.id))["sessions"] == 1
        assert await store.users.get(user.id) is None
        assert (await store.db.fetchone("SELECT count(*) FROM sessions"))[0] == 0
    finally:
        await store.close()


async def test_runs_read_back_are_never_stale(database_at):
    """Runs in progress are kept in memory (a database trip less per answer); every way a run
    changes must show in what `get` returns, exactly as the database has it."""
    from datetime import timedelta

    from bot.records import ABANDONED, COMPLETED, IN_PROGRESS

    store = await Store.open(await database_at("e"))
    runs = store.assessments

    async def fresh(run_id: int):
        row = await store.db.fetchone(
            "SELECT status, position FROM assessment_runs WHERE id = ?", (run_id,)
        )
        return (row["status"], row["position"]) if row else None

    async def same(run_id: int) -> None:
        run = await runs.get(run_id)
        assert ((run.status, run.position) if run else None) == await fresh(run_id)

    try:
        user, _ = await store.users.seen(
            "telegram", "8", chat_id="8", display_name="C", locale="vi"
        )
        for definition in ("gia-dinh", "cong-dan", "dong-ho", "don-vi"):
            await runs.snapshot(definition, 1, "assessment", {"id": definition})
        first = await runs.start(user.id, "gia-dinh", 1, "assessment", None, None)
        await runs.save_progress(first.id, {"q1": "a"}, 1)
        assert (await runs.get(first.id)).answers == {"q1": "a"}
        await same(first.id)

        retake = await runs.start(user.id, "gia-dinh", 1, "assessment", None, None)
        assert (await runs.get(first.id)).status == ABANDONED  # the retake abandoned it
        await same(first.id)

        other = await runs.start(user.id, "cong-dan", 1, "assessment", None, None)
        await runs.complete(other.id, {}, [], 1.0, 1.0, True)
        assert (await runs.get(other.id)).status == COMPLETED
        await runs.abandon(retake.id)
        await same(retake.id)

        stale = await runs.start(user.id, "dong-ho", 1, "assessment", None, None)
        assert (await runs.get(stale.id)).status == IN_PROGRESS
        await runs.expire(stale.updated_at + timedelta(seconds=1))
        assert (await runs.get(stale.id)).status == ABANDONED
        await same(stale.id)

        kept = await runs.start(user.id, "don-vi", 1, "assessment", None, None)
        await store.users.forget(user.id)
        assert await runs.get(kept.id) is None
    finally:
        await store.close()


async def test_forgetting_a_staff_member_leaves_their_actions_without_their_name(database_at):
    """The grants they gave and the broadcasts they sent stay; who gave or sent them does not,
    nor their chat as where a broadcast reports its progress."""
    store = await Store.open(await database_at("b"))
    try:
        admin, _ = await store.users.seen(
            "telegram", "42", chat_id="42", display_name="An", locale="vi"
        )
        helper, _ = await store.users.seen(
            "telegram", "43", chat_id="43", display_name="Bình", locale="vi"
        )
        await store.staff.grant(helper.id, "editor", "telegram:42")
        sent = await store.announcements.create(
            created_by="telegram:42",
            text="Họp chi hội",
            audience=AudienceFilter(),
            report_to=("telegram", "42", "vi"),
        )
        await store.users.forget(admin.id)
        kept = await store.announcements.get(sent.id)
        assert (kept.created_by, kept.report_chat, kept.text) == ("forgotten", None, "Họp chi hội")
        row = await store.db.fetchone(
            "SELECT granted_by FROM staff WHERE user_id = ?", (helper.id,)
        )
        assert row["granted_by"] == "forgotten"
    finally:
        await store.close()


async def test_a_write_waits_out_another_process_write_lock(tmp_path, monkeypatch):
    """Locked longer than the busy timeout: the write is tried again until it lands."""
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 20, raising=False)
    path = tmp_path / "locked.sqlite3"
    store = await Store.open(path)
    other = OtherWriter(path)
    try:
        with LogSeen("bot.store.db", "database locked") as locked:
            other.lock()
            write = asyncio.create_task(store.meta.set("k", "v"))
            in_transaction = asyncio.create_task(
                store.users.seen("telegram", "7", chat_id="7", display_name="", locale="vi")
            )
            await locked.wait()
            other.release()
            await asyncio.wait_for(asyncio.gather(write, in_transaction), 10)
        assert await store.meta.get("k") == "v"
    finally:
        other.release()
        await store.close()


async def test_a_lock_held_past_patience_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 20, raising=False)
    path = tmp_path / "locked.sqlite3"
    store = await Store.open(path)
    store.db.lock_patience = 0.2
    other = OtherWriter(path)
    try:
        other.lock()
        with pytest.raises(db_module.DatabaseBusy, match="locked.sqlite3"):
            await store.meta.set("k", "v")
    finally:
        other.release()
        await store.close()


async def test_a_transaction_cancelled_while_it_waits_for_the_lock_leaves_none_open(tmp_path):
    """A caller cancelled (a web request dropped) while its BEGIN waits for another writer:
    aiosqlite's thread still runs that BEGIN once the other writer lets go, and it must be
    rolled back, or every later transaction fails "within a transaction"."""
    path = tmp_path / "cancel.sqlite3"
    store = await Store.open(path)
    other = OtherWriter(path)
    try:
        other.lock()

        async def write() -> None:
            async with store.db.transaction() as tx:
                await tx.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")

        waiting = asyncio.create_task(write())
        await asyncio.sleep(0)  # one turn: the task takes the lock and sends its BEGIN
        assert store.db._lock.locked()
        waiting.cancel()
        other.release()  # now that BEGIN can land
        with pytest.raises(asyncio.CancelledError):
            await waiting
        async with store.db.transaction() as tx:  # works: no transaction was left open
            await tx.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
        assert await store.meta.get("a") is None and await store.meta.get("b") == "2"
    finally:
        other.release()
        await store.close()


async def test_weekly_figures_start_on_monday_on_either_database(database_at):
    """The week's Monday is said differently by SQLite and PostgreSQL (reports.WEEK_START)."""
    moments = [
        datetime(2026, 9, 27, 23, 0, tzinfo=UTC),  # a Sunday: the week of Monday 21
        datetime(2026, 9, 28, 0, 30, tzinfo=UTC),  # Monday 28
        datetime(2026, 9, 30, 12, 0, tzinfo=UTC),  # Wednesday: Monday 28 again
    ]
    now = [moments[0]]
    store = await Store.open(await database_at("w"), clock=lambda: now[0])
    try:
        user, _ = await store.users.seen("telegram", "9", chat_id="9", display_name="", locale="vi")
        await store.assessments.snapshot("gia-dinh", 1, "assessment", {"id": "gia-dinh"})
        for moment in moments:
            now[0] = moment
            run = await store.assessments.start(user.id, "gia-dinh", 1, "assessment", None, None)
            await store.assessments.complete(run.id, {}, [], 1.0, 1.0, True)
        weeks = await store.reports.weekly(["gia-dinh"], moments[0] - timedelta(days=1))
        assert weeks == [("2026-09-21", 1), ("2026-09-28", 2)]
    finally:
        await store.close()
