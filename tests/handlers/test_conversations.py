"""Whole conversations through the core, asserting what the member sees and what is stored."""

from __future__ import annotations

import logging

from bot.core.messages import Kind
from tests.helpers import Member


async def onboard(member: Member) -> None:
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press("Hộ gia đình")
    await member.say("ninh kieu")
    await member.press("phường Ninh Kiều")


async def test_start_onboarding_to_plan_details(app):
    lan = Member(app)
    await lan.command("/start")
    assert "Kính chào Lan!" in lan.text
    assert "Hội Khuyến học TP Cần Thơ" in lan.text
    assert lan.labels() == ["Tiếng Việt", "English"]  # the language first, each in its own

    await lan.press("Tiếng Việt")
    assert "/mydata" in lan.text and "/forget" in lan.text
    assert lan.labels() == ["Đồng ý", "Không đồng ý"]
    assert await lan.user() is None  # nothing of her is kept before she agrees

    await lan.press("Đồng ý")
    assert (await lan.user()).consent_at is not None
    assert "tư cách nào" in lan.text  # the language is not asked twice
    assert lan.labels() == [
        "Hội viên",
        "Hộ gia đình",
        "Dòng họ",
        "Đơn vị, cơ quan",
        "Người dân",
        "Bỏ qua",
    ]

    await lan.press("Hộ gia đình")
    assert "Đã lưu vai trò: Hộ gia đình." in lan.text
    assert "phường Ninh Kiều" in lan.labels()  # first page of the official list
    assert "Sau ›" in lan.labels()

    await lan.say("ninh kieu")
    assert lan.labels()[0] == "phường Ninh Kiều"
    await lan.press("phường Ninh Kiều")
    assert "Đã lưu: phường Ninh Kiều." in lan.text
    assert "Xem kế hoạch" in lan.labels()

    user = await lan.user()
    assert (user.role, user.area_code, user.locale) == ("ho-gia-dinh", "31135", "vi")

    await lan.press("Xem kế hoạch")
    assert "Kế hoạch của Hội" in lan.text
    await lan.press("QĐ 387 (cả nước)")
    assert "Quyết định 387/QĐ-TTg" in lan.text or "QĐ 387" in lan.text
    assert lan.replies[0].edit  # the pressed message is replaced, not followed by a new one
    await lan.press("Mục tiêu")
    assert "Gia đình đạt Gia đình học tập — năm 2025: 70%" in lan.text
    # What is not known is said once for the list, not after every target.
    assert lan.text.count("2030") == 1 and "Hội chưa tìm thấy" in lan.text
    await lan.press("Nhiệm vụ")
    assert "Nhiệm vụ chính" in lan.text
    await lan.press("Nguồn và lưu ý")
    assert "Căn cứ, nguồn" in lan.text
    assert lan.text.count("Chưa tìm thấy chỉ tiêu năm 2030.") == 1  # notes said once each
    await lan.command("/start plan-can-tho-hoc-tap-suot-doi")
    await lan.press("Mục tiêu")  # 2030 known for most targets: said for the others only
    assert "Gia đình đạt danh hiệu Gia đình học tập — năm 2025: 75% · năm 2030: 90%" in lan.text
    assert "Chỉ tiêu năm 2030: Hội chưa tìm thấy cho các mục không ghi năm đó." in lan.text
    await lan.press("Quay lại")
    assert "Kế hoạch của Hội" in lan.text


async def test_area_search_is_accent_and_tone_mark_insensitive(app):
    member = Member(app)
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press("Bỏ qua")
    await member.say("hoa")
    hoa = member.labels()
    assert any("Hòa" in label for label in hoa), hoa
    await member.say("HOÀ")  # new-style tone mark, upper case
    assert member.labels() == hoa
    await member.say("xyz không có")
    assert "chưa tìm thấy" in member.text
    assert (await member.user()).area_code is None


async def test_area_pages_walk_the_official_list(app):
    member = Member(app)
    await onboard(member)
    await member.command("/settings")
    await member.press("Đổi xã, phường")
    assert "trang 1/13" in member.text
    for _ in range(12):
        await member.press("Sau ›")
    assert "trang 13/13" in member.text
    assert "Sau ›" not in member.labels() and "‹ Trước" in member.labels()
    last = [label for label in member.labels() if label.startswith(("phường", "xã"))]
    assert len(last) == 103 - 12 * 8


async def test_english_member_sees_english(app):
    john = Member(app, user_id="2002", name="John", language_code="en")
    await john.command("/start")
    assert "Welcome, John!" in john.text
    await john.press("English")
    await john.press("I agree")
    assert "In which role" in john.text
    await john.press("Skip")
    await john.say("ninh kieu")
    assert "Ninh Kiều ward" in john.labels()  # the type after the name, as English has it
    await john.press("Ninh Kiều ward")
    assert "Saved: Ninh Kiều ward." in john.text
    await john.command("/start")
    assert "Plans" in john.labels()
    await john.press("Plans")
    await john.press("QĐ 387 (national)")
    await john.press("Targets")
    assert "Families holding Learning Family — 2025: 70%" in john.text


async def test_profile_steps_can_be_skipped(app):
    member = Member(app)
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press("Bỏ qua")
    await member.press("Bỏ qua")
    user = await member.user()
    assert user.role is None and user.area_code is None and user.consented
    assert "Xem kế hoạch" in member.labels()


async def test_declining_consent_keeps_no_profile(app):
    member = Member(app)
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Không đồng ý")
    assert "không lưu hồ sơ" in member.text
    assert await member.user() is None  # nothing kept, so no announcement can reach them
    # A forged role button cannot store a profile without consent.
    await member.press_data("role:ho-gia-dinh:o")
    assert await member.user() is None
    assert "Anh/Chị có đồng ý" in member.text


async def test_deep_link_opens_section(app):
    member = Member(app)
    await onboard(member)
    await member.command("/start plans")
    assert "Kế hoạch của Hội" in member.text
    await member.command("/start không-có")
    assert "Chào mừng Lan quay lại!" in member.text  # an unknown payload: the normal start


async def test_settings_change_language_role_and_announcements(app):
    member = Member(app)
    await onboard(member)
    await member.command("/settings")
    assert "Vai trò: Hộ gia đình" in member.text
    assert "Xã, phường: phường Ninh Kiều" in member.text
    assert "Nhận thông báo của Hội: đang bật" in member.text

    await member.press("Đổi vai trò")
    await member.press("Dòng họ")
    assert "Vai trò: Dòng họ" in member.text
    assert (await member.user()).role == "dong-ho"

    await member.press("Tắt thông báo")
    assert "đang tắt" in member.text
    assert (await member.user()).status == "stopped"
    await member.press("Bật thông báo")
    assert (await member.user()).status == "active"

    await member.press("Đổi ngôn ngữ")
    await member.press("English")
    assert "Language: English" in member.text
    assert (await member.user()).locale == "en"


async def test_stop_and_start_again(app):
    member = Member(app)
    await onboard(member)
    await member.command("/stop")
    assert "không nhận thông báo" in member.text
    assert (await member.user()).status == "stopped"
    await member.command("/start")
    assert "Đã bật lại thông báo" in member.text
    assert (await member.user()).status == "active"


async def test_mydata_shows_everything_kept(app):
    member = Member(app)
    await onboard(member)
    await member.command("/mydata")
    text = member.text
    for expected in (
        "Tên hiển thị: Lan",
        "Ngôn ngữ: Tiếng Việt",
        "Vai trò: Hộ gia đình",
        "Xã, phường: phường Ninh Kiều",
        "Nhận thông báo: đang bật",
        "Kênh: Telegram",
    ):
        assert expected in text
    assert "Thứ Hai, 28/09/2026 08:00" in text  # consent time, local (UTC+7), Vietnamese form


async def test_mydata_after_forget_says_nothing_is_kept(app):
    member = Member(app)
    await onboard(member)
    await member.command("/forget")
    await member.press("Xóa hết")
    await member.command("/mydata")
    assert "Hội hiện không lưu thông tin nào về Anh/Chị" in member.text
    assert "chưa chọn" not in member.text and "Dữ liệu khác" not in member.text


async def test_forget_deletes_everything_personal(app):
    member = Member(app)
    await onboard(member)
    await member.command("/settings")
    await member.press("Đổi xã, phường")  # leaves a session row behind
    await member.command("/forget")
    assert "không hoàn tác" in member.text
    await member.press("Giữ lại")
    assert await member.user() is not None

    await member.command("/forget")
    await member.press("Xóa hết")
    assert "Hội đã xóa" in member.text
    assert "hồ sơ" in member.text
    db = app.store.db
    assert await db.fetchone("SELECT * FROM users WHERE external_id = ?", ("1001",)) is None
    assert (await db.fetchone("SELECT count(*) FROM sessions"))[0] == 0


async def test_unknown_command_text_and_media_get_the_menu(app):
    member = Member(app)
    await onboard(member)
    await member.command("/khongco")
    assert "Hội chưa có lệnh /khongco." in member.text
    assert "Xem kế hoạch" in member.labels()
    await member.say("xin chào " * 600)  # a 5,000-character message
    assert "Hội chưa hiểu" in member.text
    await member.send_media("sticker")
    assert "chưa đọc được ảnh" in member.text


async def test_forged_and_stale_buttons_get_a_friendly_answer(app):
    member = Member(app)
    await onboard(member)
    for data in (
        "plan:khong-co-ke-hoach:main",
        "plan:qd-387-2022:bogus",
        "nope:1",
        "area:99999:o",
        "lang:fr:o",
        "areap:999:o",
        "set:1",
        "x" * 80,
        "home:extra:extra",
        "areap:abc:o",
    ):
        replies = await member.press_data(data)
        assert "Nút này đã cũ" in member.text, data
        assert "Xem kế hoạch" in member.labels()
        assert len(replies) == 1
    user = await member.user()
    assert user.area_code == "31135" and user.locale == "vi"  # nothing changed


async def test_a_failing_handler_apologises_and_the_bot_goes_on(app, caplog):
    from handlers import plans

    member = Member(app)
    await onboard(member)

    async def broken(ctx):
        raise RuntimeError("boom")

    section = app.dispatcher.root.sections["plans"]
    original = app.dispatcher.root.commands["plans"]
    app.dispatcher.root.commands["plans"] = broken
    try:
        with caplog.at_level(logging.ERROR):
            await member.command("/plans")
        assert "Xin lỗi Anh/Chị" in member.text
        assert any("handler failed: update" in r.message for r in caplog.records)
    finally:
        app.dispatcher.root.commands["plans"] = original
    await member.command("/plans")
    assert "Kế hoạch của Hội" in member.text
    assert section.open is plans.plans_section


async def test_block_and_unblock(app):
    member = Member(app)
    await onboard(member)
    await app.dispatcher.handle(member._inbound(Kind.BLOCKED))
    assert (await member.user()).status == "blocked"
    await app.dispatcher.handle(member._inbound(Kind.UNBLOCKED))
    assert (await member.user()).status == "active"


async def test_state_survives_a_restart(settings, clock, catalog):
    from bot.app import App

    first = await App.create(settings, clock=clock, catalog=catalog)
    member = Member(first)
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press("Bỏ qua")  # now waiting for the area name
    await first.close()

    second = await App.create(settings, clock=clock, catalog=catalog)
    try:
        member.app = second
        await member.say("cai rang")
        assert "phường Cái Răng" in member.labels()
    finally:
        await second.close()


async def test_help_lists_commands(app):
    member = Member(app)
    await member.command("/help")
    assert "/plans — Kế hoạch của Hội" in member.text
    assert "/forget" in member.text
    assert "/announce" not in member.text and "/stats" not in member.text
    assert "gõ câu hỏi bằng lời của mình" in member.text  # members may just ask
    await member.command("/menu")
    assert "gõ câu hỏi bằng lời của mình" in member.text
    english = Member(app, user_id="2002", language_code="en")
    await english.command("/help")
    assert "type a question in your own words" in english.text


async def test_settings_steps_come_back_to_settings_in_place(app):
    member = Member(app)
    await onboard(member)
    await member.command("/settings")
    await member.press("Đổi vai trò")
    await member.press("Dòng họ")
    assert len(member.replies) == 1 and member.replies[0].edit  # one message, replaced
    assert member.text.startswith("Đã lưu vai trò: Dòng họ.")  # what was saved leads the view
    assert "Vai trò: Dòng họ" in member.text and "Đổi ngôn ngữ" in member.labels()
    await member.press("Đổi ngôn ngữ")
    await member.press("Quay lại")  # back without changing anything
    assert "Vai trò: Dòng họ" in member.text and "Đổi ngôn ngữ" in member.labels()
    assert not member.text.startswith("Đã lưu")
    assert (await member.user()).locale == "vi"


async def test_consent_is_asked_in_the_language_chosen_first(app):
    hoa = Member(app, user_id="3003", name="Hoa", language_code="vi")  # a Vietnamese phone
    await hoa.command("/start")
    assert "Please choose your language" in hoa.text and "Anh/Chị chọn ngôn ngữ" in hoa.text
    await hoa.press("English")
    assert "Do you agree" in hoa.text or "I agree" in hoa.labels()
    assert "Anh/Chị có đồng ý" not in hoa.text
    assert await hoa.user() is None  # the choice is not kept before consent
    await hoa.press("I agree")
    assert (await hoa.user()).locale == "en" and "In which role" in hoa.text
