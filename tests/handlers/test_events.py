"""The calendar in chat: members follow and attend; admins add and cancel events."""

from __future__ import annotations

from tests.handlers.test_admin import staff
from tests.handlers.test_conversations import onboard
from tests.helpers import Member


async def test_member_sees_the_next_60_days_and_follows_an_event(app, clock):
    member = Member(app)
    await onboard(member)
    await member.command("/events")  # the test clock is 28/09/2026
    assert "Sự kiện trong 60 ngày tới" in member.text
    assert "📅 01–07/10/2026 — Tuần lễ hưởng ứng học tập suốt đời" in member.text
    assert "📅 Thứ Sáu, 02/10/2026 — Ngày Khuyến học Việt Nam" in member.text
    assert "📅 Thứ Sáu, 20/11/2026 — Ngày Nhà giáo Việt Nam" in member.text
    assert "Hạn gửi báo cáo" not in member.text  # beyond 60 days
    await member.press("Tuần lễ hưởng ứng học tập suốt đời")
    assert "Các xã, phường trong TP Cần Thơ" in member.text
    assert "người sẽ tham gia" not in member.text  # counts are for admins
    await member.press("🔔 Nhắc tôi")
    assert "Hội sẽ nhắc Anh/Chị trước sự kiện này." in member.text
    assert "🔕 Thôi nhắc" in member.labels()
    await member.press("Tôi sẽ tham gia")
    assert "sẽ tham gia" in member.text and "Không tham gia nữa" in member.labels()
    user = await member.user()
    assert await app.store.calendar.topics_of(user.id) == {"event:tuan-le-hoc-tap"}
    assert await app.store.calendar.rsvp_count("tuan-le-hoc-tap", "2026-10-01") == 1
    await member.press("Quay lại")
    await member.press("Nhắc mọi sự kiện")
    await member.press("Gợi ý học mỗi tuần")
    assert "Mỗi Chủ nhật lúc 19:00" in member.text
    assert await app.store.calendar.topics_of(user.id) == {
        "event:tuan-le-hoc-tap",
        "events",
        "weekly-tip",
    }
    await member.command("/mydata")
    assert "3 mục theo dõi" in member.text and "1 lần đăng ký tham gia" in member.text


async def test_following_needs_consent(app):
    member = Member(app)
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Không đồng ý")
    await member.command("/events")
    await member.press("Nhắc mọi sự kiện")
    assert "Anh/Chị có đồng ý" in member.text
    assert await member.user() is None
    assert (await app.store.db.fetchone("SELECT count(*) FROM subscriptions"))[0] == 0


async def test_admin_adds_sees_counts_and_cancels_an_event(app):
    admin = await staff(app, "999", None, name="Chủ tịch")
    member = Member(app, user_id="1002", name="Bình")
    await onboard(member)
    await admin.command("/events")
    await admin.press("Thêm sự kiện")
    await admin.say("Lớp tin học cho người lớn tuổi")
    await admin.say("10/10 08:00")
    await admin.say("Nhà văn hóa phường Ninh Kiều")
    assert "Đã thêm sự kiện" in admin.text
    assert "Lớp tin học cho người lớn tuổi" in admin.text
    assert "Thứ Bảy, 10/10/2026 lúc 08:00" in admin.text
    firings = await app.store.calendar.firings("e1")
    assert [f.fire_at.isoformat() for f in firings] == [
        "2026-10-09T12:00:00+00:00",
        "2026-10-10T00:00:00+00:00",
    ]

    await member.command("/events")
    await member.press("Lớp tin học cho người lớn tuổi")
    await member.press("Tôi sẽ tham gia")
    await admin.command("/events")
    await admin.press("Lớp tin học cho người lớn tuổi")
    assert "1 người sẽ tham gia · 0 người nhận nhắc" in admin.text
    await admin.press("Hủy sự kiện")
    assert "Đã hủy sự kiện “Lớp tin học cho người lớn tuổi”" in admin.text
    assert {f.status for f in await app.store.calendar.firings("e1")} == {"cancelled"}
    await member.command("/events")
    assert "Lớp tin học" not in member.text
    await member.press_data("evx:tuan-le-hoc-tap")  # members cannot cancel anything
    assert "Nút này đã cũ" in member.text


async def test_each_sees_the_events_meant_for_them_and_attends_only_what_can_be_attended(
    app, clock
):
    member = Member(app)
    await onboard(member)
    editor = await staff(app, "3003", "editor", name="Biên tập")
    clock.advance(days=60)  # 27/11/2026: the annual report's deadline (15/12) is near
    await member.command("/events")
    assert "Hạn gửi báo cáo" not in member.text  # a staff deadline, with its /stats
    await member.press_data("ev:bao-cao-nam:2026-12-15")  # not even through an old button
    assert "Nút này đã cũ" in member.text
    await member.say("hạn gửi báo cáo năm về các mô hình học tập là khi nào")
    assert "Hạn gửi báo cáo" not in member.text + " ".join(member.labels())

    await editor.command("/events")
    assert "Hạn gửi báo cáo năm" in editor.text
    await editor.press("Hạn gửi báo cáo năm về các mô hình học tập")
    assert "/stats" in editor.text and "Tôi sẽ tham gia" not in editor.labels()

    clock.advance(days=-60)
    await member.command("/events")
    await member.press("Ngày Nhà giáo Việt Nam")  # a day to mark, not a gathering
    assert "🔔 Nhắc tôi" in member.labels() and "Tôi sẽ tham gia" not in member.labels()
    await member.press_data("evr:ngay-nha-giao:2026-11-20")
    assert "Nút này đã cũ" in member.text
    await member.command("/events")
    await member.press("Tuần lễ hưởng ứng học tập suốt đời")  # a week of activities
    assert "Tôi sẽ tham gia" in member.labels()
