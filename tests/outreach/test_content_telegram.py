"""Publishing edited content to a running bot on Telegram (fake Bot API): no restart, members
get the new text at once, and a member in the middle of a self-check finishes on the old one."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace

from bot.app import App, Role
from bot.catalog.live import LiveCatalog
from bot.services.content import ContentService
from bot.store.db import utc_now
from fakes.bot_api import FakeUser
from tests.channels.test_telegram import Phone
from tests.outreach.conftest import FAST, bot_settings
from tests.outreach.test_event_telegram import onboard
from tests.shared import CONTENT, shared_catalog
from tests.test_content_workbook import edit, set_cell

EARLY = FakeUser(id=1001, first_name="Lan")  # starts the self-check before the publish
LATE = FakeUser(id=1002, first_name="Minh")  # starts it after
OLD_QUESTION = "Năm học vừa qua, các cháu đều có học lực"
NEW_QUESTION = "Năm học vừa qua, các cháu đều được lên lớp?"
NEW_ANSWER = "Gia đình học tập là gia đình mà ai cũng học thêm mỗi năm (bản mới)."


def option(message, index: int) -> str:
    controls = {"‹ Câu trước", "Dừng, hủy bài"}
    return [label for label in message.button_texts() if label not in controls][index]


async def test_published_content_is_served_without_a_restart(settings, fake, tmp_path):
    app = await App.create(
        bot_settings(settings, fake),
        Role.BOT,
        clock=utc_now,
        tuning=replace(FAST, content_poll=0.1),
        catalog=shared_catalog(),
    )
    await app.start()
    try:
        early, late = Phone(fake, EARLY), Phone(fake, LATE)
        await onboard(early)
        await early.send("/assess")
        await early.press("Gia đình học tập")
        first = await early.press("Bắt đầu")
        assert "Câu 1/9" in first.visible_text()
        second = await early.press(option(first, 0))
        assert OLD_QUESTION in second.visible_text()

        # Staff edit the workbook and import it (as `khuyenhoc content import` does)...
        folder = settings.database_path.parent / "content-versions"
        staff = ContentService(folder, CONTENT, LiveCatalog(shared_catalog()), app.store)

        def change(book):
            set_cell(book, "Hỏi đáp", "Câu trả lời (tiếng Việt)", NEW_ANSWER,
                     **{"Mã": "gia-dinh-la-gi"})  # fmt: skip
            set_cell(book, "Câu hỏi", "Nội dung (tiếng Việt)", NEW_QUESTION,
                     **{"Mã bài": "gia-dinh-hoc-tap", "Mã": "hoc-luc"})  # fmt: skip

        report = await staff.import_workbook(edit(staff.export_workbook(), change), "cli")
        assert report.ok and report.versions == {"gia-dinh-hoc-tap": (1, 2)}
        assert app.services.catalog.version == 0  # a draft is not served

        # ... and publish it from the command line, another process.
        env = {**os.environ, "DATABASE_PATH": str(settings.database_path)}
        env["CONTENT_DIR"] = str(CONTENT)
        publish = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--home", str(tmp_path), "content", "publish",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await publish.communicate()
        assert publish.returncode == 0, err.decode()
        assert "Đã xuất bản phiên bản 1" in out.decode()
        await fake.wait_for(lambda: app.services.catalog.version == 1, timeout=10)

        # A new question gets the new answer, from the same running bot.
        await late.send("/start")
        await late.press("Tiếng Việt")
        await late.press("Đồng ý")
        await late.press("Bỏ qua")
        await late.press("Bỏ qua")
        answer = await late.send("Gia đình học tập là gì?")
        if "Gia đình học tập là gì?" in answer.button_texts():  # offered among close questions
            answer = await late.press("Gia đình học tập là gì?")
        assert NEW_ANSWER in answer.visible_text()

        # The member in the middle of the self-check finishes on the version she started.
        shown = await early.press(option(second, 0))
        assert "Câu 3/9" in shown.visible_text()
        while "Câu " in (shown.visible_text() or "") and option(shown, 0):
            shown = await early.press(option(shown, 0))
            if "Kết quả" in shown.visible_text():
                break
        assert "Kết quả" in shown.visible_text()
        await late.send("/assess")
        await late.press("Gia đình học tập")
        first = await late.press("Bắt đầu")
        second = await late.press(option(first, 0))
        assert NEW_QUESTION in second.visible_text()

        lan = await app.store.users.find("telegram", str(EARLY.id))
        done = await app.store.assessments.history(lan.id, 5)
        assert [(r.definition_id, r.version) for r in done] == [("gia-dinh-hoc-tap", 1)]
        unfinished = await app.services.assessments.unfinished(
            (await app.store.users.find("telegram", str(LATE.id))).id
        )
        assert [(run.version, d.version) for run, d in unfinished] == [(2, 2)]
    finally:
        await app.close()


ADMIN = FakeUser(id=999, first_name="Chủ tịch")  # a super admin (ADMIN_IDS)


async def test_staff_edit_the_content_from_the_chat(live, fake):
    app, _ = live
    admin, member = Phone(fake, ADMIN), Phone(fake, LATE)
    await onboard(admin)
    await onboard(member)

    sent = await admin.send("/content")
    assert sent.kind == "document" and sent.file_name == "noi-dung-v0.xlsx"
    assert "phiên bản 0" in sent.visible_text()

    def broken(book):
        set_cell(book, "Hỏi đáp", "Câu trả lời (tiếng Việt)", None, **{"Mã": "gia-dinh-la-gi"})

    def change(book):
        set_cell(book, "Hỏi đáp", "Câu trả lời (tiếng Việt)", NEW_ANSWER,
                 **{"Mã": "gia-dinh-la-gi"})  # fmt: skip

    async def upload(data: bytes):
        return await admin._turn(lambda: fake.user_sends_document(ADMIN, data, "noi-dung.xlsx"))

    answer = await upload(edit(sent.file_bytes, broken))
    assert "Bảng tính có 1 lỗi" in answer.visible_text()
    assert "Sheet Hỏi đáp, dòng 2, cột Câu trả lời (tiếng Việt): bị trống" in answer.visible_text()
    assert not app.services.content.has_draft()

    answer = await upload(edit(sent.file_bytes, change))  # still waiting for the corrected one
    assert "Hỏi đáp: sửa 1 (gia-dinh-la-gi)" in answer.visible_text()
    assert "Đã lưu bản nháp" in answer.visible_text()
    assert NEW_ANSWER not in (await member.send("Gia đình học tập là gì?")).visible_text()

    async def ask(phone: Phone):
        reply = await phone.send("Gia đình học tập là gì?")
        if "Gia đình học tập là gì?" in reply.button_texts():
            reply = await phone.press("Gia đình học tập là gì?")
        return reply.visible_text()

    shown = await admin.press("Xem thử", answer)
    assert "đang xem thử bản nháp" in shown.visible_text()
    assert NEW_ANSWER in await ask(admin)  # the staffer alone sees the draft
    assert NEW_ANSWER not in await ask(member)
    assert app.services.catalog.version == 0

    done = await admin.press("Xuất bản", answer)
    assert "Đã xuất bản phiên bản 1" in done.visible_text()
    assert NEW_ANSWER in await ask(member)
    assert "getFile" in [name for name, _ in fake.calls]
