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
        (["audit", "--since", "2026-13-01"], "YYYY-MM-DD"),
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
