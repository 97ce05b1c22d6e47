"""Staff at the terminal: the `khuyenhoc` commands as an association staffer types them, in
Vietnamese (English on request), with local times, names for areas and roles, one way of writing
dates, a question before anything is sent, and a terminal chat that shows its pictures."""

from __future__ import annotations

import asyncio
import os
import pty
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.catalog.models import Area
from bot.core.dates import parse_local
from bot.records import AudienceFilter
from tests.conftest import CONTENT
from tests.helpers import khuyenhoc
from tests.outreach.conftest import seed
from tests.shared import shared_catalog
from tests.test_reports import complete

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NEXT_YEAR = datetime.now(VIETNAM).year + 1  # the commands run on the real clock


def environment(database, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "KHUYENHOC_"))}
    env.update(DATABASE_PATH=str(database), CONTENT_DIR=str(CONTENT), **extra)
    return env


async def cli(database, *args: str, stdin=None, **extra: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `khuyenhoc ARGS` on `database`."""
    process = await khuyenhoc(
        *args,
        env=environment(database, **extra),
        cwd=database.parent,
        stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def members(settings):
    """Three households and a clan in Hòa An, a household in Ninh Kiều; the database closed."""
    app = await App.create(settings, catalog=shared_catalog())
    try:
        await seed(app, 3, start=100, area_code="31393", role="ho-gia-dinh")
        await seed(app, 1, start=200, area_code="31393", role="dong-ho")
        await seed(app, 1, start=300, area_code="31135", role="ho-gia-dinh")
    finally:
        await app.close()
    return settings.database_path


def announcements(database) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT id, status, audience, scheduled_at, expires_at FROM announcements ORDER BY id"
        ).fetchall()


# -- 1. Vietnamese, or English when asked; logs only with -v ---------------------------------------
async def test_commands_speak_vietnamese_and_english_on_request(members, tmp_path):
    code, out, err = await cli(members, "announcements")
    assert code == 0, err
    assert "trạng thái" in out and "nội dung" in out and "status" not in out
    assert err == ""  # no log line in a command's output unless asked

    for english in (("--lang", "en", "announcements"), ("announcements", "--lang", "en")):
        code, out, _ = await cli(members, *english)
        assert code == 0 and "status" in out and "trạng thái" not in out
    code, out, _ = await cli(members, "announcements", LANG="en_US.UTF-8")
    assert "status" in out  # the staffer's own locale

    code, _, err = await cli(members, "stats", "-v")
    assert code == 0 and "INFO" in err  # asked for: the log lines are there


async def test_help_and_usage_mistakes_are_in_vietnamese(members):
    code, out, _ = await cli(members, "announce", "--help")
    assert code == 0
    assert out.startswith("cách dùng: khuyenhoc announce")
    assert "xã, phường: tên" in out and "tùy chọn:" in out
    code, _, err = await cli(members, "announce")
    assert code == 2
    assert "lỗi: thiếu tham số bắt buộc: --text-file" in err
    code, out, _ = await cli(members, "--lang", "en", "announce", "--help")
    assert out.startswith("usage: khuyenhoc announce") and "ward/commune" in out


# -- 2. Local time ---------------------------------------------------------------------------------
async def test_announcements_show_local_time(members, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Họp chi hội", encoding="utf-8")
    at = f"05/12/{NEXT_YEAR} 08:00"
    code, out, err = await cli(members, "announce", "--text-file", str(note), "--at", at, "--yes")
    assert code == 0, err
    code, out, err = await cli(members, "announcements")
    assert code == 0, err
    assert f"05/12/{NEXT_YEAR} 08:00" in out and "01:00" not in out
    assert "UTC" not in out and "Asia/Ho_Chi_Minh" in out


# -- 3. Names as well as codes ---------------------------------------------------------------------
def test_an_area_is_found_by_its_name_typed_any_way():
    areas = shared_catalog().areas
    for typed in ("Hòa An", "hoa an", "HOÀ AN", "xã Hòa An", "31393"):
        assert isinstance(areas.resolve(typed), Area) and areas.resolve(typed).code == "31393"
    several = areas.resolve("hòa")
    assert isinstance(several, list) and {"Hòa An", "Hòa Tú", "Tân Hòa"} <= {
        a.name for a in several
    }
    assert areas.resolve("Sao Hỏa") == []
    roles = shared_catalog().campaign
    assert roles.find_role("Hộ gia đình").id == "ho-gia-dinh"
    assert roles.find_role("ho gia dinh").id == "ho-gia-dinh"
    assert roles.find_role("Household").id == "ho-gia-dinh"
    assert roles.find_role("ho-gia-dinh").id == "ho-gia-dinh"


async def test_announce_by_area_and_role_names(members, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Họp chi hội", encoding="utf-8")
    base = ("announce", "--text-file", str(note))
    code, out, err = await cli(members, *base, "--area", "hoa an", "--role", "Hộ gia đình", "--yes")
    assert code == 0, err
    assert "xã Hòa An (31393)" in out and "cho 3 người" in out
    [(_, _, audience, _, _)] = announcements(members)
    stored = AudienceFilter.from_json(audience)
    assert (stored.areas, stored.roles) == (("31393",), ("ho-gia-dinh",))

    code, _, err = await cli(members, *base, "--area", "Hòa", "--yes")
    assert code == 2
    assert "có thể là nhiều nơi" in err and "xã Hòa An (31393)" in err and "xã Hòa Tú" in err
    code, _, err = await cli(members, *base, "--area", "Sao Hỏa", "--yes")
    assert code == 2 and "không có xã, phường “Sao Hỏa”" in err
    assert "phường Ninh Kiều (31135)" in err and "xã Cù Lao Dung (31633)" in err  # all of them
    code, _, err = await cli(members, *base, "--role", "Thợ lặn", "--yes")
    assert code == 2 and "Hộ gia đình (ho-gia-dinh)" in err and "Dòng họ (dong-ho)" in err
    assert len(announcements(members)) == 1  # none of the mistakes recorded anything


# -- 4. One way of writing dates -------------------------------------------------------------------
def test_one_parser_reads_both_date_forms_with_or_without_a_time():
    now = datetime(2026, 12, 1, 3, 0, tzinfo=VIETNAM)
    day = datetime(2026, 12, 5, tzinfo=VIETNAM)
    for typed in ("05/12/2026", "5/12/2026", "2026-12-05"):
        parsed = parse_local(typed, VIETNAM, now)
        assert parsed.moment == day and not parsed.has_time
    for typed in ("05/12/2026 8:00", "2026-12-05 08:00", "2026-12-05T08:00", "05/12 8h00"):
        parsed = parse_local(typed, VIETNAM, now)
        assert parsed.moment == day.replace(hour=8) and parsed.has_time
    assert parse_local("31/02/2026", VIETNAM, now) is None
    assert parse_local("tomorrow", VIETNAM, now) is None


async def test_every_command_takes_the_same_date_forms(members, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Họp chi hội", encoding="utf-8")
    out_file = tmp_path / "tu-danh-gia.csv"
    code, _, err = await cli(
        members,
        "export",
        "assessments",
        "--from",
        "01/12/2026",
        "--to",
        "2026-12-31",
        "--out",
        str(out_file),
    )
    assert code == 0, err  # refused before: --from took only YYYY-MM-DD
    for at in (f"05/12/{NEXT_YEAR} 8:00", f"{NEXT_YEAR}-12-05 08:00"):
        code, _, err = await cli(
            members,
            "announce",
            "--text-file",
            str(note),
            "--at",
            at,
            "--yes",
            "--expires",
            f"06/12/{NEXT_YEAR}",
        )
        assert code == 0, err
    first, second = announcements(members)
    assert first[3:] == second[3:]  # the same moments, whichever form
    code, _, err = await cli(
        members, "announce", "--text-file", str(note), "--at", "05/12", "--yes"
    )
    assert code == 2 and "thiếu giờ" in err
    code, _, err = await cli(
        members, "export", "assessments", "--from", "hôm qua", "--out", "x.csv"
    )
    assert code == 2 and "dd/mm/yyyy" in err and "yyyy-mm-dd" in err


# -- 5. A question before sending; cancelling one that waits ---------------------------------------
async def test_announce_asks_before_sending_and_a_script_must_say_yes(members, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Họp chi hội", encoding="utf-8")
    command = ("announce", "--text-file", str(note), "--area", "Hòa An")

    code, out, err = await cli(members, *command)  # no terminal to answer
    assert code == 2 and "Gửi cho 4 người?" in err and "--yes" in err
    assert announcements(members) == []

    for answer, recorded in (("k\n", 0), ("c\n", 1)):
        main, terminal = pty.openpty()
        try:
            os.write(main, answer.encode())
            code, out, err = await cli(members, *command, stdin=terminal)
        finally:
            os.close(terminal)
            os.close(main)
        assert "Gửi cho 4 người? (c/k)" in out
        assert len(announcements(members)) == recorded, out + err
    assert "Đã ghi thông báo #1 cho 4 người" in out and "trong vài giây" in out


async def test_a_scheduled_announcement_can_be_cancelled(members, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Họp chi hội", encoding="utf-8")
    code, out, err = await cli(
        members, "announce", "--text-file", str(note), "--at", f"05/12/{NEXT_YEAR} 08:00", "--yes"
    )
    assert code == 0, err
    assert f"05/12/{NEXT_YEAR} 08:00" in out and "trong vài giây" not in out
    assert "khuyenhoc announcements cancel 1" in out

    code, out, err = await cli(members, "announcements", "cancel", "1")
    assert code == 0, err
    assert "Đã hủy thông báo #1" in out
    assert announcements(members)[0][1] == "cancelled"
    code, _, err = await cli(members, "announcements", "cancel", "1")
    assert code == 1 and "không hủy được nữa" in err
    code, _, err = await cli(members, "announcements", "cancel", "9")
    assert code == 2 and "Không có thông báo #9" in err


# -- 6. Events -------------------------------------------------------------------------------------
async def test_an_event_cannot_be_added_in_the_past(members):
    code, _, err = await cli(members, "events", "add", "--title", "Họp", "--at", "01/01/2020")
    assert code == 2 and "đã qua" in err
    with sqlite3.connect(members) as db:
        assert db.execute("SELECT count(*) FROM custom_events").fetchone()[0] == 0
    code, out, err = await cli(
        members, "events", "add", "--title", "Họp chi hội", "--at", f"05/12/{NEXT_YEAR} 19:30"
    )
    assert code == 0 and f"05/12/{NEXT_YEAR} 19:30" in out, err


async def test_events_list_is_the_campaign_calendar_of_the_next_twelve_months(members):
    code, out, err = await cli(members, "events", "list")
    assert code == 0, err
    assert "Tuần lễ hưởng ứng học tập suốt đời" in out  # 1–7 October, whatever today is
    assert "Ngày Khuyến học Việt Nam" in out


# -- 8. The terminal chat --------------------------------------------------------------------------
async def test_the_terminal_chat_saves_the_pictures_it_is_sent(settings, tmp_path):
    database = tmp_path / "trial" / "chat.sqlite3"
    database.parent.mkdir()
    app = await App.create(
        settings.with_overrides(database_path=database), catalog=shared_catalog()
    )
    try:  # enough answers for a chart
        for member in await seed(app, 6, start=100, area_code="31135"):
            await complete(app, member, "gia-dinh-hoc-tap", True, app.services.clock())
    finally:
        await app.close()
    process = await khuyenhoc(
        "chat",
        "--admin",
        "--db",
        str(database),
        env=environment(tmp_path / "bot.sqlite3"),
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(b"/stats\n"), 60)
    out, err = out.decode(), err.decode()
    assert process.returncode == 0, err
    picture = database.parent / "chat-pictures" / "001-tien-do.png"
    assert f"[ảnh / image: {picture}]" in out
    assert picture.read_bytes()[:4] == b"\x89PNG"
    assert picture.stat().st_mode & 0o077 == 0  # members' figures: the user's alone
    assert "INFO" not in err and "migrat" not in err.lower()  # no log lines at start
    assert f"Trò chuyện trên cơ sở dữ liệu {database}" in err
