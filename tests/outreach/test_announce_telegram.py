"""An admin announces through Telegram; members get it; the admin sees progress and a report."""

from __future__ import annotations

from fakes.bot_api import FakeBotAPI, FakeUser
from tests.channels.test_telegram import Phone
from tests.outreach.conftest import seed, wait_done

ADMIN = FakeUser(id=999, first_name="Chủ tịch")
MEMBER = FakeUser(id=1001, first_name="Lan")


async def test_admin_announces_from_the_phone(live, fake):
    app, _channel = live
    members = await seed(app, 12, area_code="31135")
    await seed(app, 3, start=7000, area_code="31150")
    admin = Phone(fake, ADMIN)
    await admin.send("/start")
    await admin.press("Tiếng Việt")
    await admin.press("Đồng ý")
    await admin.press("Bỏ qua")
    await admin.press("Bỏ qua")

    await admin.send("/announce")
    audience = await admin.send("Họp chi hội tối nay")
    assert "chọn người nhận" in audience.visible_text()
    await admin.press("Xã, phường")
    await admin.send("ninh kieu")
    await admin.press("phường Ninh Kiều")
    shown = await admin.press("Xong")
    assert "Số người nhận hiện nay: 12" in shown.visible_text()
    before = len(fake.messages(ADMIN.id))
    await admin.press("Xem trước ›")
    preview, controls = (await fake.wait_for_messages(ADMIN.id, before + 2))[-2:]
    assert preview.visible_text() == "Họp chi hội tối nay"
    assert "Sẽ gửi tới 12 người (phường Ninh Kiều)" in controls.visible_text()
    await admin.press("Gửi ngay", controls)

    [announcement] = await app.store.announcements.listing(["sending", "done", "scheduled"])
    await wait_done(app, announcement.id)
    for member in members:
        assert [m.visible_text() for m in fake.messages(int(member.chat_id))] == [
            "Họp chi hội tối nay"
        ]
    assert fake.messages(7000) == []
    await fake.wait_for(
        lambda: any(
            "đã gửi xong: 12/12" in (m.visible_text() or "") for m in fake.messages(ADMIN.id)
        ),
    )


async def test_menus_show_staff_commands_only_to_staff(live, fake):
    app, channel = live
    admin = Phone(fake, ADMIN)
    await admin.send("/start")
    await admin.press("Tiếng Việt")
    await admin.press("Đồng ý")
    await channel.set_commands()  # as at start-up, now that the super admin is known
    public = {c["command"] for c in fake.commands[("default", "")]}
    assert "announce" not in public and "admins" not in public and "plans" in public
    own = fake.commands[(FakeBotAPI.scope_key({"type": "chat", "chat_id": ADMIN.id}), "")]
    assert {"announce", "scheduled", "report", "admins"} <= {c["command"] for c in own}

    member = Phone(fake, MEMBER)
    answer = await member.send("/announce")
    assert "Hội chưa có lệnh /announce." in answer.visible_text()
    menu = fake.last_message(MEMBER.id)
    before = len(fake.answered_callbacks)
    refused = await member._turn(lambda: fake.user_presses(MEMBER, menu, "xs:1"))
    assert "Nút này đã cũ" in refused.visible_text()
    await fake.wait_for(lambda: len(fake.answered_callbacks) > before)
    trail = await app.store.staff.audit_trail()
    assert [r.action for r in trail][:2] == ["refused", "refused"]
