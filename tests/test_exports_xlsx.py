"""Exports for Excel: read back with openpyxl for headers, labels, types and the <5 rule, from the
service, the command line and the staff's /export in chat."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import datetime

from openpyxl import load_workbook

from bot.services.outreach import AudienceFilter
from tests.conftest import CONTENT, ROOT
from tests.handlers.test_admin import staff
from tests.test_reports import dataset  # noqa: F401 - the fixture, with its hand-computed answers


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(min_row=2, values_only=True))


def header(sheet) -> list[str]:
    return [c.value for c in sheet[1]]


async def test_assessments_workbook_has_labels_real_types_and_hides_small_groups(app, dataset):  # noqa: F811
    data = await app.services.exports.workbook("assessments", app.services.clock())
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[:2] == ["Giải thích", "Theo xã, phường"]
    assert {"Gia đình học tập", "Dòng họ học tập"} <= set(book.sheetnames)
    guide = " ".join(str(r[0]) for r in book["Giải thích"].iter_rows(values_only=True))
    assert "dưới 5 người hoặc dưới 5 kết quả ghi là “<5”" in guide
    assert "Phiên bản bài" in guide

    family = book["Gia đình học tập"]
    assert header(family)[:6] == [
        "Mã người trả lời", "Phiên bản bài", "Xã, phường", "Vai trò",
        "Việc học của trẻ em trong gia đình: điểm", "Việc học của trẻ em trong gia đình: kết quả",
    ]  # fmt: skip
    last = ["Tổng điểm", "Điểm tối đa", "Kết luận", "Bắt đầu lúc", "Xong lúc", "Nhập hộ"]
    assert header(family)[-6:] == last
    assert family.freeze_panes == "A2"
    lines = rows(family)
    assert len(lines) == 12
    first = next(r for r in lines if r[2] == "phường Ninh Kiều" and r[-4] == "Đáp ứng")
    assert first[1] == 1 and first[3] == "Hộ gia đình"
    assert first[4] == 30 and first[5] == "Đáp ứng"  # a number, and a label, not an id
    assert isinstance(first[-6], int) and first[-6] == first[-5]  # met: full points
    assert isinstance(first[-2], datetime) and first[-2].tzinfo is None  # local time, a date
    assert first[-2].hour == 10  # 03:00 UTC is 10:00 in Cần Thơ
    assert first[-1] is None  # the member's own answers, not entered by an officer
    assert {r[-4] for r in lines} == {"Đáp ứng", "Chưa đáp ứng"}
    assert not any("gia-dinh" in str(cell) or "not_yet" in str(cell) for r in lines for cell in r)

    summary = {(r[0], r[2]): r for r in rows(book["Theo xã, phường"])}
    ninh_kieu = summary[("Tự đánh giá Gia đình học tập", "phường Ninh Kiều")]
    assert ninh_kieu[1:] == (1, "phường Ninh Kiều", 9, 7, 77.8)
    cai_khe = summary[("Tự đánh giá Gia đình học tập", "phường Cái Khế")]
    assert cai_khe[3:] == ("<5", None, None)  # 3 results: no count, no share


async def test_members_and_announcements_workbooks(app, dataset):  # noqa: F811
    now = app.services.clock()
    members = load_workbook(io.BytesIO(await app.services.exports.workbook("members", now)))
    sheet = members["Thành viên"]
    assert header(sheet) == ["Xã, phường", "Vai trò", "Số thành viên", "Hoạt động 30 ngày qua"]
    by_area = {r[0]: r for r in rows(sheet)}
    assert by_area["phường Ninh Kiều"] == ("phường Ninh Kiều", "Hộ gia đình", 10, 7)
    assert by_area["phường Cái Khế"] == ("phường Cái Khế", "Dòng họ", "<5", "<5")

    await app.services.outreach.announce(
        "telegram:999", "Mời dự <b>Tuần lễ học tập</b>", AudienceFilter()
    )
    book = load_workbook(io.BytesIO(await app.services.exports.workbook("announcements", now)))
    sheet = book["Thông báo"]
    assert header(sheet)[:5] == ["Số", "Tạo lúc", "Hẹn gửi lúc", "Trạng thái", "Nội dung"]
    (line,) = rows(sheet)
    assert line[0] == 1 and line[4] == "Mời dự Tuần lễ học tập" and isinstance(line[1], datetime)


async def test_staff_get_the_workbook_in_chat_and_from_the_command_line(
    app,
    dataset,  # noqa: F811
    settings,
    tmp_path,
):
    admin = await staff(app, "999", None, name="Chủ tịch")
    await admin.command("/export members")
    (reply,) = admin.replies
    assert reply.document_name.endswith(".xlsx") and "Tệp Excel" in reply.text
    assert "Thành viên" in load_workbook(io.BytesIO(reply.document)).sheetnames
    await admin.command("/stats")
    assert {"Xuất tự đánh giá", "Xuất thành viên", "Xuất thông báo"} <= set(admin.labels())

    await app.close()  # the CLI opens the same database file
    env = {**os.environ, "DATABASE_PATH": str(settings.database_path), "CONTENT_DIR": str(CONTENT)}
    out = tmp_path / "tu-danh-gia.xlsx"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "export", "assessments", "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{out}: " in done.stdout and "dòng" in done.stdout
    book = load_workbook(out)
    assert len(rows(book["Gia đình học tập"])) == 12


async def test_results_of_two_versions_are_never_added_up_silently(app, dataset):  # noqa: F811
    family = app.catalog.definition("gia-dinh-hoc-tap")
    await app.store.assessments.snapshot(family.id, 2, family.kind, family.raw)
    ninh_kieu, _ = dataset
    for member in ninh_kieu[:3]:  # their latest results were scored on a published version 2
        await app.store.db.execute(
            "UPDATE assessment_runs SET version = 2 WHERE user_id = ? AND definition_id = ?",
            (member.id, family.id),
        )
    admin = await staff(app, "999", None, name="Chủ tịch")
    await admin.command("/stats")
    assert "Gồm kết quả của nhiều phiên bản bài (1, 2)" in admin.text

    data = await app.services.exports.workbook("assessments", app.services.clock())
    summary = rows(load_workbook(io.BytesIO(data))["Theo xã, phường"])
    ninh = [r[1:4] for r in summary if r[0].endswith("Gia đình học tập") and "Ninh" in r[2]]
    assert ninh == [(1, "phường Ninh Kiều", 5), (2, "phường Ninh Kiều", "<5")]  # 4: hidden
