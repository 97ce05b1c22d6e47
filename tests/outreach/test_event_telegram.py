"""An admin adds an event on the phone; a member asks to be reminded; the reminder arrives."""

from __future__ import annotations

from datetime import timedelta

from bot.store.db import to_db_time
from fakes.bot_api import FakeUser
from tests.channels.test_telegram import Phone

ADMIN = FakeUser(id=999, first_name="Chủ tịch")
MEMBER = FakeUser(id=1001, first_name="Lan")


async def onboard(phone: Phone) -> None:
    await phone.send("/start")
    await phone.press("Tiếng Việt")
    await phone.press("Đồng ý")
    await phone.press("Bỏ qua")
    await phone.press("Bỏ qua")


async def test_admin_created_event_reminds_its_followers(live, fake):
    app, _ = live
    admin, member = Phone(fake, ADMIN), Phone(fake, MEMBER)
    await onboard(admin)
    await onboard(member)
    tomorrow = (app.services.clock() + timedelta(days=2)).astimezone(app.settings.timezone)

    await admin.send("/events")
    await admin.press("Thêm sự kiện")
    await admin.send("Đọc sách cùng con")
    await admin.send(f"{tomorrow:%d/%m/%Y} 18:00")
    added = await admin.press("Bỏ qua")
    assert "Đã thêm sự kiện" in added.visible_text()

    listing = await member.send("/events")
    assert "Đọc sách cùng con" in listing.visible_text()
    await member.press("Đọc sách cùng con")
    await member.press("🔔 Nhắc tôi")

    # Bring the first reminder forward to half a second from now and re-arm, as a restart would.
    [first, _] = await app.store.calendar.firings("e1")
    soon = app.services.clock() + timedelta(seconds=0.5)
    await app.store.db.execute(
        "UPDATE reminder_firings SET fire_at = ? WHERE id = ?", (to_db_time(soon), first.id)
    )
    await app.services.reminders.arm()
    assert f"firing:{first.id}" in app.scheduler.job_ids()

    count = len(fake.messages(MEMBER.id))
    messages = await fake.wait_for_messages(MEMBER.id, count + 1, timeout=10)
    assert "Ngày mai: Đọc sách cùng con" in messages[-1].visible_text()
    # The admin did not ask to be reminded, so got nothing.
    assert not any("Ngày mai:" in (m.visible_text() or "") for m in fake.messages(ADMIN.id))
    [fired] = [f for f in await app.store.calendar.firings("e1") if f.id == first.id]
    assert fired.status == "fired"
