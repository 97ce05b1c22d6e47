"""`khuyenhoc migrate-to-postgres` and `khuyenhoc backup` on PostgreSQL, as operators run them."""

import asyncio
import subprocess

from bot.records import AudienceFilter, Session
from bot.store import Store
from tests.pg import Schemas, needs_pg
from tests.test_cli import run

pytestmark = needs_pg


async def seeded_sqlite(path) -> None:
    """A SQLite database with a little of everything an association keeps."""
    store = await Store.open(path)
    try:
        for n in range(1, 8):
            member, _ = await store.users.seen(
                "telegram", str(n), chat_id=str(n), display_name=f"Hội viên {n}", locale="vi"
            )
            await store.users.update(member.id, consent_at=store.db.now(), area_code="31135")
        await store.sessions.save(member.id, Session("ask", {"bước": 1}))
        await store.assessments.snapshot("gia-dinh", 1, "assessment", {"id": "gia-dinh"})
        run_ = await store.assessments.start(member.id, "gia-dinh", 1, "assessment", None, None)
        await store.assessments.complete(run_.id, {"q": "a"}, [], 1.5, 2.0, True)
        sent = await store.announcements.create(
            created_by="cli", text="Tuần lễ học tập suốt đời", audience=AudienceFilter()
        )
        await store.announcements.update(sent.id, status="scheduled")
        await store.announcements.start_sending(sent, [], None)
        await store.staff.audit("cli", "announce", id=sent.id)
        await store.meta.secret("pseudonym_salt")
    finally:
        await store.close()


async def count(url: str, table: str) -> int:
    store = await Store.open(url)
    try:
        return int((await store.db.fetchone(f"SELECT count(*) FROM {table}"))[0])
    finally:
        await store.close()


async def test_a_copy_is_verified_table_by_table_and_never_lands_on_data(tmp_path):
    source = tmp_path / "cli.sqlite3"
    await seeded_sqlite(source)
    schemas = Schemas()
    try:
        url = await schemas.url("target")
        copied = await asyncio.to_thread(run, ["migrate-to-postgres", "--to", url], tmp_path)
        assert copied.returncode == 0, copied.stderr
        assert "users: 7 dòng, khớp" in copied.stdout
        assert "deliveries: 7 dòng, khớp" in copied.stdout
        assert "mọi bảng đều khớp" in copied.stdout

        store = await Store.open(url)
        try:
            member = await store.users.find("telegram", "7")
            assert member is not None and member.display_name == "Hội viên 7"
            assert (await store.sessions.get(member.id)).data == {"bước": 1}
            # New rows are numbered after the copied ones.
            newcomer, _ = await store.users.seen(
                "telegram", "8", chat_id="8", display_name="Mới", locale="vi"
            )
            assert newcomer.id == 8
        finally:
            await store.close()

        again = await asyncio.to_thread(run, ["migrate-to-postgres", "--to", url], tmp_path)
        assert again.returncode == 1
        assert "từ chối: PostgreSQL đã có dữ liệu" in again.stderr
        assert "Traceback" not in again.stderr
        assert await count(url, "users") == 8  # untouched

        forced = await asyncio.to_thread(
            run, ["migrate-to-postgres", "--to", url, "--force"], tmp_path
        )
        assert forced.returncode == 0, forced.stderr
        assert await count(url, "users") == 7
    finally:
        await schemas.drop()


async def test_a_postgres_backup_is_a_pg_dump_and_says_how_to_restore(tmp_path):
    schemas = Schemas()
    try:
        url = await schemas.url("bot")
        await count(url, "users")  # migrated
        dumped = await asyncio.to_thread(
            run, ["backup", "--out", "bot.dump"], tmp_path, DATABASE_URL=url
        )
        assert dumped.returncode == 0, dumped.stderr
        assert "pg_restore --clean --if-exists -d" in dumped.stdout
        listing = await asyncio.to_thread(
            subprocess.run,
            ["pg_restore", "--list", str(tmp_path / "bot.dump")],
            capture_output=True,
            text=True,
        )
        assert "TABLE DATA" in listing.stdout and " users " in listing.stdout
        assert (tmp_path / "bot.dump").stat().st_mode & 0o077 == 0

        refused = await asyncio.to_thread(
            run, ["restore", "bot.dump", "--yes"], tmp_path, DATABASE_URL=url
        )
        assert refused.returncode == 2 and "pg_restore" in refused.stderr
    finally:
        await schemas.drop()
