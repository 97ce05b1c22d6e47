"""Campaign figures on a generated dataset with known answers; suppression; exports; charts."""

from __future__ import annotations

import csv
import io
import struct
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.reports import progress_chart, titles_chart
from tests.handlers.test_admin import staff
from tests.helpers import Member
from tests.outreach.conftest import seed

LOCAL_NOW = datetime(2026, 9, 28, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


async def complete(app, user, definition_id, passed, when):
    definition = app.catalog.definition(definition_id)
    run = await app.services.assessments.start(user, definition)
    criteria = [
        {"id": c.id, "points": c.max_points if passed else 0, "max": c.max_points, "met": passed}
        for c in definition.criteria
    ]
    await app.store.assessments.complete(
        run.id, {}, criteria, definition.max_total if passed else 0, definition.max_total, passed
    )
    await app.store.db.execute(
        "UPDATE assessment_runs SET finished_at = ?, started_at = ? WHERE id = ?",
        (when.strftime("%Y-%m-%dT%H:%M:%S.000"), when.strftime("%Y-%m-%dT%H:%M:%S.000"), run.id),
    )


@pytest.fixture
async def dataset(app, clock):
    """Known answers (hand-computed in the tests below). The clock is 28/09/2026."""
    day = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)
    ninh_kieu = await seed(app, 10, start=100, area_code="31135", role="ho-gia-dinh")
    cai_khe = await seed(app, 3, start=200, area_code="31120", role="dong-ho")
    await seed(app, 2, start=300, consent=False)
    for index, member in enumerate(ninh_kieu[:8]):
        await complete(app, member, "gia-dinh-hoc-tap", index < 6, day + timedelta(days=index))
    # One household retook it: not met first, met later; only the latest counts as met.
    await complete(app, ninh_kieu[8], "gia-dinh-hoc-tap", False, day)
    await app.store.db.execute(
        "UPDATE assessment_runs SET latest = 0 WHERE user_id = ?", (ninh_kieu[8].id,)
    )
    await app.store.db.execute("DELETE FROM assessment_runs WHERE user_id = ?", (ninh_kieu[8].id,))
    await complete(app, ninh_kieu[0], "gia-dinh-hoc-tap", True, day + timedelta(days=20))
    for index, member in enumerate(cai_khe):
        await complete(app, member, "gia-dinh-hoc-tap", index == 0, day + timedelta(days=3))
    for member in cai_khe + ninh_kieu[:1]:
        await complete(app, member, "dong-ho-hoc-tap", True, day)
    for member in ninh_kieu[:5]:
        await complete(app, member, "quiz-qd-387", True, day)
    for member in ninh_kieu[7:]:  # three members last seen long ago
        await app.store.db.execute(
            "UPDATE users SET last_seen_at = '2026-06-01T00:00:00.000' WHERE id = ?", (member.id,)
        )
    return ninh_kieu, cai_khe


async def test_every_figure_equals_the_hand_computed_value(app, dataset):
    figures = await app.services.reports.figures(app.services.clock())
    assert (figures.members, figures.active) == (13, 10)
    assert figures.by_role == {"ho-gia-dinh": 10, "dong-ho": 3}
    assert figures.top_areas[0] == ("31135", 7, 10)
    family = next(t for t in figures.titles if t.title_id == "gia-dinh-hoc-tap")
    # Ninh Kiều: 8 respondents (one retook: 2 runs), 6 met; Cái Khế: 3 respondents, 1 met.
    assert (family.taken, family.respondents, family.met) == (12, 11, 7)
    assert family.share == pytest.approx(100 * 7 / 11)
    clan = next(t for t in figures.titles if t.title_id == "dong-ho-hoc-tap")
    assert (clan.respondents, clan.share) == (4, None)  # fewer than 5: not shown
    briefed = next(b for b in figures.briefed if b.plan_id == "qd-387-2022")
    assert (briefed.passed, briefed.members) == (5, 13)
    assert briefed.share == pytest.approx(100 * 5 / 13)
    assert figures.briefed_target == 100

    by_area = await app.services.reports.by_area("gia-dinh-hoc-tap")
    assert by_area == [("31120", 3, 1, None), ("31135", 8, 6, 75.0)]


async def test_admin_sees_chart_and_text_members_see_city_and_own_area(app, dataset):
    admin = await staff(app, "999", None, name="Chủ tịch")
    await admin.command("/stats")
    chart, _ = admin.replies
    assert chart.image.startswith(b"\x89PNG\r\n\x1a\n")
    text = admin.text
    assert "Thành viên: 14 · hoạt động trong 30 ngày: 11" in text  # the admin is a member too
    assert "Gia đình học tập: 12 lượt, 11 người; đáp ứng 63,6% (mục tiêu 2025: 75%" in text
    assert "Dòng họ học tập: <5 lượt, <5 người; đáp ứng chưa đủ 5 người" in text
    assert "QĐ 387 (cả nước): 5 người (35,7%)" in text
    await admin.press("Theo xã, phường: Gia đình học tập")
    assert "phường Cái Khế: <5 người; đáp ứng chưa đủ 5 người" in admin.text
    assert "phường Ninh Kiều: 8 người; đáp ứng 75%" in admin.text

    ninh_kieu, cai_khe = dataset
    member = Member(app, user_id=ninh_kieu[0].external_id, name="M100")
    await member.command("/progress")
    assert "Gia đình học tập: 11 người đã tự đánh giá; 63,6% đáp ứng đủ tiêu chí" in member.text
    assert "Dòng họ" not in member.text
    assert "Ở phường Ninh Kiều" in member.text and "8 người; 75% đáp ứng" in member.text
    other = Member(app, user_id=cai_khe[0].external_id, name="M200")
    await other.command("/progress")
    assert "Ở phường Cái Khế" not in other.text  # only 3 answers there
    await other.command("/stats")
    assert "Hội chưa có lệnh /stats." in other.text


async def test_assessment_export_columns_bom_and_date_window(app, dataset):
    reports = app.services.reports
    data = await reports.export_assessments()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 12 + 4 + 5
    first = rows[0]
    assert list(first)[:7] == [
        "respondent",
        "definition_id",
        "version",
        "kind",
        "area_code",
        "area_name",
        "role",
    ]
    assert first["area_name"] == "Ninh Kiều" and first["definition_id"] == "gia-dinh-hoc-tap"
    assert first["criterion_1"] and first["verdict"] in ("met", "not_yet")
    assert first["finished_local"] == "2026-09-01 10:00"
    text = data.decode("utf-8-sig")
    assert "M100" not in text and ",100," not in text  # no names, no chat ids
    assert all(len(r["respondent"]) == 12 for r in rows)
    assert len({r["respondent"] for r in rows if r["area_code"] == "31135"}) == 8
    window = await reports.export_assessments(
        datetime(2026, 9, 5, tzinfo=UTC), datetime(2026, 9, 10, tzinfo=UTC)
    )
    assert len(window.decode("utf-8-sig").strip().splitlines()) - 1 == 4  # 5th to 8th Sept
    members = (await reports.export_members(app.services.clock())).decode("utf-8-sig")
    assert "31120,Cái Khế,dong-ho,<5,<5" in members
    assert "31135,Ninh Kiều,ho-gia-dinh,10,7" in members


async def test_chart_is_a_valid_png_of_the_intended_size(app, dataset):
    figures = await app.services.reports.figures(app.services.clock())
    png = titles_chart(app.services.i18n, "vi", figures, LOCAL_NOW)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1080 and 400 <= height <= 1800


async def test_the_chart_says_what_each_row_measures_for_how_many_and_when(app, dataset):
    figures = await app.services.reports.figures(app.services.clock())
    chart = progress_chart(app.services.i18n, "vi", figures, LOCAL_NOW)
    titles, plans = chart.groups
    # Titles and plans are measured differently, and each panel says how.
    assert "đáp ứng tiêu chí" in titles.heading and "đáp ứng tiêu chí" not in plans.heading
    assert "đạt bài kiểm tra" in plans.heading
    assert "tiêu chí" not in chart.title and "tiêu chí" not in chart.axis
    family = next(b for b in titles.bars if b.label == "Gia đình học tập")
    assert family.detail == "7/11 người"  # the people behind the bar
    qd387 = next(b for b in plans.bars if b.label.startswith("QĐ 387"))
    assert qd387.detail == "5/13 người" and qd387.targets == (("Mục tiêu 2025", 100),)
    assert chart.subtitle == "Số liệu đến Thứ Hai, 28/09/2026"
    # The titles left out for having fewer than 5 answers are named, not just hinted at.
    assert "Dòng họ học tập" not in [b.label for b in titles.bars]
    assert "Chưa đủ 5 người trả lời nên chưa vẽ: Dòng họ học tập, Cộng đồng học tập" in chart.note


async def test_a_target_at_100_percent_is_drawn_whole():
    from bot.services.charts import Bar, Chart, Group, figure

    bar = Bar("QĐ 387", 40.0, (("Mục tiêu 2025", 100.0),), "5/13 người")
    drawn = figure(Chart("Tiến độ", (Group("Tìm hiểu kế hoạch", (bar,)),)))
    [ax] = drawn.axes
    [mark] = [line for line in ax.lines if line.get_marker() == "|"]
    assert not mark.get_clip_on()  # on the frame at 100%, not cut in half by it
    labels = [t.get_text() for t in ax.texts]
    assert "40% · 5/13 người" in labels


async def test_cli_stats_and_export(app, dataset, settings, tmp_path):
    import asyncio
    import os
    import subprocess
    import sys

    from tests.conftest import CONTENT, ROOT

    await app.close()  # the CLI opens the same database file
    env = {**os.environ, "DATABASE_PATH": str(settings.database_path), "CONTENT_DIR": str(CONTENT)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )

    chart = tmp_path / "stats.png"
    out = tmp_path / "export.csv"
    # Both only read the database: run side by side.
    stats, export = await asyncio.gather(
        asyncio.to_thread(cli, "stats", "--chart", str(chart)),
        asyncio.to_thread(
            cli,
            "export",
            "assessments",
            "--from",
            "2026-09-05",
            "--to",
            "2026-09-08",
            "--out",
            str(out),
        ),
    )
    assert stats.returncode == 0, stats.stderr
    assert "Gia đình học tập: 12 lượt, 11 người; đáp ứng 63,6%" in stats.stdout
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert export.returncode == 0, export.stderr
    assert len(out.read_bytes().decode("utf-8-sig").strip().splitlines()) == 1 + 4


async def test_large_member_counts_are_recounted_at_most_once_a_minute(app, clock):
    """Past `tally_kept_from` members the figures reuse a count under a minute old (a million
    members take ~0.2 s to count); below it, and after a minute, they count again."""
    reports = app.services.reports
    await seed(app, 3)
    assert (await reports.figures(clock())).members == 3
    await seed(app, 1, start=7000)
    assert (await reports.figures(clock())).members == 4  # small: counted every time
    reports.tally_kept_from = 4  # as if four were a million
    assert (await reports.figures(clock())).members == 4
    await seed(app, 1, start=7100)
    assert (await reports.figures(clock())).members == 4  # the count of a moment ago
    clock.advance(seconds=61)
    assert (await reports.figures(clock())).members == 5
