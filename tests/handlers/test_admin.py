"""Staff in chat: roles, composing and sending announcements, and every refusal."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.roles import RANK as ROLE_RANK
from tests.handlers.test_conversations import onboard
from tests.helpers import Member

SUPER_ID = "999"  # in ADMIN_IDS of the test settings


def forged(action_type):
    """A well-formed button of this type with plausible values."""
    values = {}
    for field in dataclasses.fields(action_type):
        kind = action_type._hints[field.name]
        values[field.name] = "admin" if kind is str else (1 if kind is int else True)
    return action_type(**values).pack()


async def staff(app, user_id: str, role: str | None, name: str = "Cán bộ") -> Member:
    member = Member(app, user_id=user_id, name=name)
    await onboard(member)
    if role in ("admin", "editor", "officer"):
        user = await member.user()
        await app.store.staff.grant(user.id, role, "test")
    return member


@pytest.mark.parametrize("role", [None, "officer", "editor", "admin"])
async def test_every_staff_command_and_button_is_refused_below_its_role(app, role):
    root = app.dispatcher.root
    member = await staff(app, "4242", role)
    refused = 0
    for command, needed in root.command_roles.items():
        if ROLE_RANK[role] >= ROLE_RANK[needed]:
            continue
        await member.command(f"/{command}")
        assert f"Hội chưa có lệnh /{command}." in member.text, command
        refused += 1
    for action_type, needed in root.action_roles.items():
        if ROLE_RANK[role] >= ROLE_RANK[needed]:
            continue
        await member.press_data(forged(action_type))
        assert "Nút này đã cũ" in member.text, action_type
        refused += 1
    assert refused > 0
    trail = await app.store.staff.audit_trail(limit=500)
    assert sum(r.action == "refused" for r in trail) == refused
    assert not await app.store.announcements.listing(["draft", "scheduled", "sending"])
    # Members never see the staff section in their menu.
    await member.command("/menu")
    assert ("Việc của cán bộ" in member.labels()) == (role is not None)


async def test_staff_roles_are_granted_revoked_and_audited(app):
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    helper = await staff(app, "3003", None, name="Thư ký")
    await boss.command("/admins")
    assert "Chưa có ai." in boss.text
    await boss.say("3003")
    assert "Cấp quyền gì cho Thư ký?" in boss.text
    await boss.press("biên tập viên")
    assert "Cấp quyền biên tập viên cho Thư ký ở đâu?" in boss.text
    await boss.press("Toàn thành phố")
    assert "Đã cấp quyền biên tập viên cho Thư ký, phạm vi: toàn thành phố." in boss.text
    assert await app.store.staff.role_of((await helper.user()).id) == "editor"

    await helper.command("/announce")
    assert "gửi nội dung thông báo" in helper.text  # an editor may draft

    await boss.press("Thu hồi: Thư ký")
    assert "Đã thu hồi quyền của Thư ký." in boss.text
    await helper.command("/announce")
    assert "Hội chưa có lệnh /announce." in helper.text
    trail = [(r.actor, r.action) for r in await app.services.staff.audit_trail()]
    assert ("telegram:999", "grant") in trail and ("telegram:999", "revoke") in trail
    await boss.command("/admins grant 3003 admin")
    assert await app.store.staff.role_of((await helper.user()).id) == "admin"


async def test_editor_drafts_and_admin_sends(app):
    editor = await staff(app, "3003", "editor", name="Biên tập")
    admin = await staff(app, "3004", "admin", name="Quản trị")
    reader = Member(app, user_id="3005", name="Hội viên")
    await onboard(reader)

    await editor.command("/announce")
    await editor.say("Họp chi hội", html="<b>Họp</b> chi hội")  # bold kept
    assert "Người nhận: tất cả thành viên nhận thông báo" in editor.text
    await editor.press("Xã, phường")
    await editor.say("ninh kieu")
    await editor.press("phường Ninh Kiều")
    await editor.press("Xong")
    assert "Người nhận: phường Ninh Kiều" in editor.text
    await editor.press("Vai trò")
    await editor.press("Hộ gia đình")
    await editor.press("Xong")
    assert "phường Ninh Kiều · Hộ gia đình" in editor.text
    await editor.press("Xem trước ›")
    assert editor.replies[0].text == "<b>Họp</b> chi hội"  # exactly what recipients will see
    assert "Sẽ gửi tới 3 người" in editor.text  # the three onboarded as Ninh Kiều households
    assert "Gửi ngay" not in editor.labels()
    await editor.press("Lưu nháp chờ duyệt")
    [draft] = await app.store.announcements.listing(["draft"])

    await admin.command("/scheduled")
    assert f"#{draft.id}" in admin.text and "bản nháp chờ duyệt" in admin.text
    await admin.press(f"Xem #{draft.id}")
    await admin.press("Hẹn giờ")
    await admin.say("hôm qua")
    assert "chưa hiểu thời gian" in admin.text
    await admin.say("01/09 07:30")  # the test clock is 28/09/2026: next year
    assert "Thứ Tư, 01/09/2027 lúc 07:30" in admin.text
    await admin.say("2026-09-01 07:30")
    assert "đã qua" in admin.text
    await admin.say("01/10 07:30")
    assert "Gửi thông báo #1 vào Thứ Năm, 01/10/2026 lúc 07:30?" in admin.text
    await admin.press("Xác nhận")
    assert "Đã hẹn gửi thông báo #1 vào Thứ Năm, 01/10/2026 lúc 07:30." in admin.text
    scheduled = await app.store.announcements.get(draft.id)
    assert scheduled.status == "scheduled"
    assert scheduled.scheduled_at.isoformat() == "2026-10-01T00:30:00+00:00"
    assert scheduled.report_chat == "3004"  # progress goes to the admin who sent it

    await admin.command(f"/report {draft.id}")
    assert "Trạng thái: đang chờ gửi" in admin.text
    await admin.command("/scheduled")
    await admin.press(f"Xem #{draft.id}")
    await admin.press("Hủy thông báo")
    assert (await app.store.announcements.get(draft.id)).status == "cancelled"
    await editor.press_data(f"xs:{draft.id}")  # a forged "send now" from the editor
    assert "Nút này đã cũ" in editor.text


async def test_audience_selection_on_a_seeded_database(app):
    from bot.services.outreach import AudienceFilter
    from tests.outreach.conftest import seed

    ninh_kieu = await seed(app, 4, start=100, area_code="31135", role="ho-gia-dinh")
    cai_rang = await seed(app, 3, start=200, area_code="31150", role="dong-ho", locale="en")
    stopped = await seed(app, 2, start=300, area_code="31135", status="stopped")
    await seed(app, 2, start=400, consent=False)
    size = app.services.outreach.audience_size
    assert await size(AudienceFilter()) == 7
    assert await size(AudienceFilter(areas=("31135",))) == 4
    assert await size(AudienceFilter(areas=("31135", "31150"))) == 7
    assert await size(AudienceFilter(roles=("dong-ho",))) == 3
    assert await size(AudienceFilter(locale="en")) == 3
    assert await size(AudienceFilter(areas=("31135",), roles=("dong-ho",))) == 0
    assert stopped  # stopped members are in none of the counts above

    store = app.store
    await store.db.execute(
        "INSERT INTO subscriptions (user_id, topic, created_at) VALUES (?, 'su-kien', 'x')",
        (cai_rang[0].id,),
    )
    assert await size(AudienceFilter(topics=("su-kien",))) == 1

    family = app.catalog.definition("gia-dinh-hoc-tap")
    for index, member in enumerate(ninh_kieu[:3]):
        for passed in (0, 1) if index == 0 else (1, 0) if index == 1 else (0,):
            run = await app.services.assessments.start(member, family)
            await store.db.execute(
                "UPDATE assessment_runs SET status = 'completed', passed = ?, finished_at = ?"
                " WHERE id = ?",
                (passed, f"2026-09-0{run.id}T00:00:00.000", run.id),
            )
    # Latest result counts: member 0 passed last, member 1 did not, member 2 did not.
    assert await size(AudienceFilter(not_met="gia-dinh-hoc-tap")) == 2
    assert await size(AudienceFilter(not_met="dong-ho-hoc-tap")) == 0


async def test_a_role_change_is_audited_and_reaches_the_channels(app):
    heard = []

    async def channel_hears(user, role):
        heard.append((user.external_id, role))

    app.services.staff.changed.connect(channel_hears)
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    helper = await staff(app, "3003", None, name="Thư ký")
    await boss.command("/admins grant 3003 admin")
    assert "Đã cấp quyền quản trị viên cho Thư ký, phạm vi: toàn thành phố." in boss.text
    [member] = await app.services.staff.members()
    assert (member.user_id, member.role, member.granted_by, member.name, member.ref) == (
        (await helper.user()).id,
        "admin",
        "telegram:999",
        "Thư ký",
        "telegram:3003",
    )
    await boss.command("/admins revoke 3003")
    assert "Đã thu hồi quyền của Thư ký." in boss.text
    await boss.command("/admins revoke 3003")  # nothing left to revoke: just the list
    assert "Chưa có ai." in boss.text
    assert heard == [("3003", "admin"), ("3003", None)]
    trail = [(e.actor, e.action, e.detail) for e in await app.services.staff.audit_trail()]
    assert trail == [
        ("telegram:999", "revoke", {"user": "telegram:3003"}),
        ("telegram:999", "grant", {"user": "telegram:3003", "role": "admin"}),
    ]


async def test_report_lists_the_latest_announcements(app):
    from bot.records import AudienceFilter

    admin = await staff(app, "3004", "admin")
    for n in range(1, 106):
        await app.services.outreach.announce("test", f"Tin số {n}", AudienceFilter())
    await admin.command("/report")
    assert "Tin số 96" in admin.text and "Tin số 105" in admin.text
    assert "Tin số 95" not in admin.text  # ten lines: the newest, not the first hundred's tail


async def test_only_a_waiting_announcement_changes(app):
    from bot.records import AudienceFilter

    outreach = app.services.outreach
    draft = await outreach.draft("telegram:3003", "Họp", report_to=("telegram", "3003", "vi"))
    moved = await outreach.set_audience(draft.id, AudienceFilter(areas=("31135",)))
    assert moved.audience.areas == ("31135",)
    # Whoever sends gets the progress, in the same write that schedules it.
    sent = await outreach.schedule(draft.id, None, report_to=("telegram", "3004", "en"))
    assert (sent.status, sent.report_chat, sent.report_locale) == ("scheduled", "3004", "en")
    await outreach.cancel(draft.id)
    # A button pressed after the cancel (or after the worker took it) changes nothing.
    assert await outreach.set_audience(draft.id, AudienceFilter()) is None
    assert await outreach.schedule(draft.id, None) is None
    kept = await outreach.get(draft.id)
    assert kept.status == "cancelled" and kept.audience.areas == ("31135",)


async def test_a_flood_of_forged_staff_presses_is_audited_once_an_hour(app):
    member = Member(app, user_id="4444")
    await member.command("/start")
    for _ in range(50):
        await member.press_data("xs:1")
        assert "Nút này đã cũ" in member.text  # each still gets its polite answer
    refused = [e for e in await app.services.staff.audit_trail(100) if e.action == "refused"]
    assert len(refused) == 1
