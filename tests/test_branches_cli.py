"""`khuyenhoc admins` and `khuyenhoc audit` as the operator types them."""

import asyncio

from bot.store import Store
from tests.test_cli import run


def test_admins_grant_list_revoke_and_audit_in_vietnamese(tmp_path):
    async def a_member():
        store = await Store.open(tmp_path / "cli.sqlite3")
        await store.users.seen(
            "telegram", "3003", chat_id="3003", display_name="Thư ký", locale="vi"
        )
        await store.close()

    asyncio.run(a_member())
    granted = run(
        ["admins", "grant", "3003", "--role", "editor", "--area", "Hòa An", "--area", "ninh kieu"],
        tmp_path,
    )
    assert granted.returncode == 0, granted.stderr
    assert "Đã cấp quyền biên tập viên cho Thư ký, phạm vi: xã Hòa An, phường Ninh Kiều." in (
        granted.stdout
    )
    listed = run(["admins", "list"], tmp_path)
    assert "telegram:3003  Thư ký: biên tập viên · xã Hòa An, phường Ninh Kiều" in listed.stdout

    for args, says in [
        (["admins", "grant", "3003", "--role", "editor", "--area", "cai"], "khớp với nhiều nơi"),
        (["admins", "grant", "3003", "--role", "editor", "--area", "zzz"], "Không tìm thấy"),
        (["admins", "grant", "77", "--role", "officer"], "chưa biết người dùng có ID 77"),
        (["admins", "revoke", "3003", "--role", "admin"], "không giữ quyền này"),
        (["audit", "--since", "2026-13-01"], "yyyy-mm-dd"),
    ]:
        wrong = run(args, tmp_path)
        lines = [line for line in wrong.stderr.splitlines() if " INFO " not in line]
        assert wrong.returncode == 2 and len(lines) == 1 and says in lines[0], wrong.stderr

    revoked = run(["admins", "revoke", "3003"], tmp_path)
    assert "Đã thu hồi quyền của Thư ký." in revoked.stdout
    audit = run(["audit", "--who", "cli", "--since", "2026-01-01"], tmp_path)
    lines = audit.stdout.splitlines()
    assert len(lines) == 2 and "revoke" in lines[0] and "grant" in lines[1]
    assert "areas=31393,31135" in lines[1] and "role=editor" in lines[1]


def test_roles_granted_before_branches_stay_city_wide(tmp_path):
    """Upgrading: the staff table is rebuilt for the officer role; every role kept, city-wide."""
    import sqlite3

    from bot.store.db import migrations

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for number, _, sql in migrations():
        if number <= 9:
            conn.executescript(f"{sql}\nPRAGMA user_version = {number};")
    conn.execute(
        "INSERT INTO users (id, channel, external_id, chat_id, created_at, last_seen_at)"
        " VALUES (7, 'telegram', '3003', '3003', 'x', 'x')"
    )
    conn.execute("INSERT INTO staff VALUES (7, 'editor', 'telegram:999', 'x')")
    conn.commit()
    conn.close()

    async def upgraded():
        store = await Store.open(path)
        try:
            return await store.staff.held(7), await store.db.schema_version()
        finally:
            await store.close()

    held, version = asyncio.run(upgraded())
    assert held == ("editor", ()) and version >= 10
