"""The content workbook: export, edit in "Excel" (openpyxl), import as a draft, publish, roll back.

The draft is compared with the live content file by file, so "the draft differs exactly where the
cells were edited" is checked on the data the bot would load. Broken workbooks give the listed
problems, in the staff's words, and leave no draft.
"""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot.catalog import load_catalog
from bot.catalog.live import LiveCatalog
from bot.catalog.workbook import read_content
from bot.services.content import ContentError, ContentService
from tests.shared import CONTENT, shared_catalog


def service(tmp_path, store=None) -> ContentService:
    return ContentService(
        tmp_path / "content-versions", CONTENT, LiveCatalog(shared_catalog()), store
    )


def edit(source: bytes, change) -> bytes:
    """The workbook after `change(book)`, as Excel would save it."""
    book = load_workbook(io.BytesIO(source))
    change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def find(sheet, column: str, **where) -> tuple[int, int]:
    """(row, column) of `column` in the row whose cells match `where` (header -> value)."""
    header = [c.value for c in sheet[1]]
    for row in range(2, sheet.max_row + 1):
        if all(sheet.cell(row, header.index(h) + 1).value == v for h, v in where.items()):
            return row, header.index(column) + 1
    raise LookupError(where)


def set_cell(book, sheet: str, column: str, value, **where) -> None:
    row, col = find(book[sheet], column, **where)
    book[sheet].cell(row, col).value = value


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> bytes:
    return service(tmp_path_factory.mktemp("export")).export_workbook()


def test_the_workbook_has_a_sheet_per_kind_with_vietnamese_headers(exported):
    book = load_workbook(io.BytesIO(exported))
    assert book.sheetnames == [
        "Hướng dẫn", "Hỏi đáp", "Sự kiện", "Kế hoạch", "Bài tự đánh giá", "Tiêu chí",
        "Câu hỏi", "Lựa chọn", "Lời của bot",
    ]  # fmt: skip
    faq = book["Hỏi đáp"]
    assert [c.value for c in faq[1]][:6] == [
        "Mã", "Mục", "Câu hỏi (tiếng Việt)", "Câu hỏi (tiếng Anh)",
        "Câu trả lời (tiếng Việt)", "Câu trả lời (tiếng Anh)",
    ]  # fmt: skip
    assert faq.freeze_panes == "B2"
    assert faq.max_row - 1 == len(shared_catalog().faq)  # one row per entry
    assert faq.column_dimensions["E"].width >= 40  # answers are long
    options = book["Lựa chọn"]
    row, col = find(options, "Điểm", **{"Mã bài": "gia-dinh-hoc-tap", "Câu hỏi": "di-hoc"})
    assert options.cell(row, col).value == 10  # a number, not text
    lists = {
        (sheet.title, str(v.sqref).split(":")[0][0]): v.formula1
        for sheet in book.worksheets
        for v in sheet.data_validations.dataValidation
    }
    assert lists[("Bài tự đánh giá", "D")] == '"Nháp,Đã xác nhận"'  # status
    assert lists[("Sự kiện", "B")] == '"Hằng năm,Một lần"'
    assert any("Cả nhóm đối tượng" in f for f in lists.values())  # whom an event notifies
    roles = book["Bài tự đánh giá"]
    row, col = find(roles, "Vai trò", **{"Mã": "gia-dinh-hoc-tap"})
    assert roles.cell(row, col).value == "Hộ gia đình, Hội viên"  # labels, not ids


async def test_an_unchanged_workbook_changes_nothing(tmp_path, exported):
    content = service(tmp_path)
    report = await content.import_workbook(exported, "test")
    assert report.ok and report.changes == [] and report.draft is None
    assert not content.has_draft()


async def test_edited_cells_make_a_draft_that_differs_exactly_there(tmp_path, exported):
    def change(book):
        set_cell(book, "Hỏi đáp", "Câu trả lời (tiếng Việt)", "Câu trả lời mới.",
                 **{"Mã": "gia-dinh-la-gi"})  # fmt: skip
        set_cell(book, "Hỏi đáp", "Câu trả lời (tiếng Anh)", None, **{"Mã": "gia-dinh-la-gi"})
        where = {"Mã bài": "gia-dinh-hoc-tap", "Câu hỏi": "hoc-them", "Mã": "mot-so"}
        set_cell(book, "Lựa chọn", "Điểm", 7, **where)
        set_cell(book, "Bài tự đánh giá", "Phiên bản", 5, **{"Mã": "dong-ho-hoc-tap"})  # not edited
        set_cell(book, "Lời của bot", "Lời (tiếng Việt)", "Chọn việc Anh/Chị muốn làm:",
                 **{"Khóa": "menu.title"})  # fmt: skip

    content = service(tmp_path)
    report = await content.import_workbook(edit(exported, change), "test")
    assert report.ok, report.problems
    assert report.warnings == [
        "Sheet Hỏi đáp, dòng 2, cột Câu trả lời (tiếng Anh): tiếng Anh bị trống, bot dùng tạm"
        " tiếng Việt"
    ]
    assert {c.sheet: c.changed for c in report.changes} == {
        "Hỏi đáp": ("gia-dinh-la-gi",),
        "Bài tự đánh giá": ("gia-dinh-hoc-tap",),
        "Lời của bot": ("menu.title",),
    }
    assert report.versions == {"gia-dinh-hoc-tap": (1, 2)}

    live, draft = read_content(CONTENT), read_content(content.draft_dir)
    assert [e for e in draft.faq if e != live.faq[draft.faq.index(e)]] == [draft.faq[0]]
    assert draft.faq[0]["answer"] == {"vi": "Câu trả lời mới.", "en": "Câu trả lời mới."}
    assert draft.faq[0]["question"] == live.faq[0]["question"]
    assert draft.events == live.events and draft.plans == live.plans
    changed = {k for k in live.definitions if live.definitions[k] != draft.definitions[k]}
    assert changed == {"gia-dinh-hoc-tap"}
    family = draft.definitions["gia-dinh-hoc-tap"]
    assert family["version"] == 2
    adults = family["criteria"][1]["questions"][1]["options"]
    assert [o["points"] for o in adults] == [10, 7, 0]
    assert {k for k in live.strings["vi"] if live.strings["vi"][k] != draft.strings["vi"][k]} == {
        "menu.title"
    }
    assert live.strings["en"] == draft.strings["en"]
    assert load_catalog(content.draft_dir).faq[0].answer.get("vi") == "Câu trả lời mới."
    assert shared_catalog().faq[0].answer.get("vi") != "Câu trả lời mới."  # live: untouched


def _rename_sheet(book):
    book["Sự kiện"].title = "Su kien"


def _empty_answer(book):
    set_cell(book, "Hỏi đáp", "Câu trả lời (tiếng Việt)", None, **{"Mã": "dong-ho-la-gi"})


def _points_in_words(book):
    set_cell(book, "Lựa chọn", "Điểm", "mười",
             **{"Mã bài": "gia-dinh-hoc-tap", "Câu hỏi": "di-hoc", "Mã": "co"})  # fmt: skip


def _duplicate_id(book):
    set_cell(book, "Hỏi đáp", "Mã", "gia-dinh-la-gi", **{"Mã": "gia-dinh-tieu-chi"})


def _formula(book):
    set_cell(book, "Kế hoạch", "Tiêu đề (tiếng Việt)", '=UPPER("x")', **{"Mã": "qd-387-2022"})


def _not_a_choice(book):
    set_cell(book, "Bài tự đánh giá", "Trạng thái", "Xong", **{"Mã": "gia-dinh-hoc-tap"})


def _unknown_role(book):
    set_cell(book, "Bài tự đánh giá", "Vai trò", "Hộ gia đình, Học sinh",
             **{"Mã": "gia-dinh-hoc-tap"})  # fmt: skip


def _unreachable(book):
    set_cell(book, "Lựa chọn", "Điểm", 5,
             **{"Mã bài": "gia-dinh-hoc-tap", "Câu hỏi": "hoc-them", "Mã": "tat-ca"})  # fmt: skip


def _too_long_button(book):
    set_cell(book, "Lựa chọn", "Nội dung (tiếng Việt)", "Có, các cháu đều đi học đầy đủ mọi ngày",
             **{"Mã bài": "gia-dinh-hoc-tap", "Câu hỏi": "di-hoc", "Mã": "co"})  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_rename_sheet, ["Sheet Su kien: sheet này không thuộc mẫu nội dung",
                         "Sheet Sự kiện: thiếu sheet này"]),
        (_empty_answer, ["Sheet Hỏi đáp, dòng 5, cột Câu trả lời (tiếng Việt): bị trống"]),
        (_points_in_words, ["cột Điểm: phải là một số, không phải “mười”"]),
        (_duplicate_id, ["Sheet Hỏi đáp, dòng 3, cột Mã: mã “gia-dinh-la-gi” bị trùng với dòng 2"]),
        (_formula, ["Sheet Kế hoạch, dòng 4, cột Tiêu đề (tiếng Việt): có công thức"]),
        (_not_a_choice, ["cột Trạng thái: “Xong” không có trong danh sách chọn (Nháp, Đã xá"]),
        (_unknown_role, ["cột Vai trò: không có vai trò “Học sinh”"]),
        (_unreachable, ["cột Điểm đạt: cần 20 điểm nhưng tối đa chỉ có 15 điểm"]),
        (_too_long_button, ["cột Nội dung (tiếng Việt): dài quá 32 ký tự"]),
    ],
)  # fmt: skip
async def test_a_broken_workbook_lists_its_problems_and_changes_nothing(
    tmp_path, exported, change, expected
):
    content = service(tmp_path)
    report = await content.import_workbook(edit(exported, change), "test")
    assert not report.ok and report.draft is None and not content.has_draft()
    for line in expected:
        assert any(line in problem for problem in report.problems), report.problems


async def test_an_enormous_or_foreign_file_is_refused(tmp_path):
    content = service(tmp_path)
    huge = await content.import_workbook(b"PK" + b"\0" * (6 * 1024 * 1024), "test")
    assert huge.problems == ["Sheet Hướng dẫn: tệp quá lớn (6,0 MB; tối đa 5 MB)"]
    foreign = await content.import_workbook(b"Ma,Cau hoi\n1,2\n", "test")
    assert "không mở được tệp này như một bảng tính Excel" in foreign.problems[0]
    assert not content.has_draft()


async def test_publish_keeps_every_version_and_rolls_back(app, tmp_path, exported):
    folder = app.settings.database_path.parent / "content-versions"
    content = ContentService(folder, CONTENT, app.services.catalog, app.store)
    with pytest.raises(ContentError):
        await content.publish("test")  # no draft yet

    async def publish(answer: str) -> int:
        book = edit(exported, lambda b: set_cell(
            b, "Hỏi đáp", "Câu trả lời (tiếng Việt)", answer, **{"Mã": "gia-dinh-la-gi"}
        ))  # fmt: skip
        assert (await content.import_workbook(book, "telegram:999")).ok
        return await content.publish("telegram:999")

    assert await publish("Bản một.") == 1
    assert app.catalog.faq[0].answer.get("vi") == "Bản một."  # served at once, no restart
    assert await publish("Bản hai.") == 2
    assert [(v.number, v.live) for v in content.versions()] == [(1, False), (2, True)]
    await content.rollback(1, "telegram:999")
    assert app.catalog.faq[0].answer.get("vi") == "Bản một."
    await content.rollback(0, "telegram:999")  # the shipped content
    assert app.catalog.faq[0].answer.get("vi") == shared_catalog().faq[0].answer.get("vi")
    with pytest.raises(ContentError):
        await content.rollback(7, "telegram:999")
    trail = [(e.action, e.detail) for e in reversed(await app.store.staff.audit_trail())]
    assert [a for a, _ in trail if a.startswith("content_")] == [
        "content_draft", "content_publish", "content_draft", "content_publish",
        "content_rollback", "content_rollback",
    ]  # fmt: skip


def test_the_command_line_round_trip_in_vietnamese(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "CONTENT_DIR": str(CONTENT), "KHUYENHOC_HOME": str(tmp_path)}
    env.pop("DATABASE_PATH", None)
    (tmp_path / "data").mkdir()

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", "content", *args],
            input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
        )  # fmt: skip

    book = tmp_path / "noi-dung.xlsx"
    done = cli("export", "--out", str(book))
    assert done.returncode == 0 and "dòng nội dung trong 8 sheet" in done.stdout, done.stderr
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(edit(book.read_bytes(), _empty_answer))
    done = cli("import", str(broken))
    assert done.returncode == 1
    assert "Sheet Hỏi đáp, dòng 5, cột Câu trả lời (tiếng Việt): bị trống" in done.stdout
    assert cli("publish").returncode == 1  # nothing to publish

    edited = tmp_path / "da-sua.xlsx"
    edited.write_bytes(edit(book.read_bytes(), lambda b: set_cell(
        b, "Hỏi đáp", "Câu trả lời (tiếng Việt)", "Câu trả lời mới.", **{"Mã": "dong-ho-la-gi"}
    )))  # fmt: skip
    done = cli("import", str(edited))
    assert done.returncode == 0 and "Hỏi đáp: sửa 1 (dong-ho-la-gi)" in done.stdout
    chat = cli("preview", stdin="/start\n1\n1\n2\n2\nDòng họ học tập là gì?\n1\n")
    assert chat.returncode == 0 and "Câu trả lời mới." in chat.stdout, chat.stderr
    assert "Đã xuất bản phiên bản 1" in cli("publish").stdout
    listing = cli("versions").stdout
    assert "* 1  " in listing and "  0  " in listing
    assert "Bot dùng lại phiên bản 0." in cli("rollback", "0").stdout
    assert "Không có phiên bản 9" in cli("rollback", "9").stderr
