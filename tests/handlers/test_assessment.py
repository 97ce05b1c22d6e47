"""Self-assessments and knowledge checks as a member takes them, and what is stored."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest

from bot.app import App
from bot.catalog import load_catalog
from tests.conftest import CONTENT
from tests.handlers.test_conversations import onboard
from tests.helpers import Member
from tests.shared import shared_catalog


def question_number(member: Member) -> tuple[int, int]:
    n, total = re.search(r"Câu (\d+)/(\d+)", member.text).groups()
    return int(n), int(total)


def option_labels(member: Member) -> list[str]:
    controls = {"‹ Câu trước", "Dừng, hủy bài"}
    return [label for label in member.labels() if label not in controls]


async def begin(member: Member, title: str) -> None:
    """Open /assess, choose `title` and start: the first question is on screen."""
    await member.command("/assess")
    await member.press(title)
    await member.press("Bắt đầu")


async def answer_all(member: Member, pick=lambda options: options[0]) -> None:
    while "Câu " in member.text and option_labels(member):
        await member.press(pick(option_labels(member)))


async def test_take_a_family_self_assessment(app):
    lan = Member(app)
    await onboard(lan)  # a household: the family assessment is offered first
    await lan.command("/assess")
    assert lan.labels()[0] == "Gia đình học tập"
    await lan.press("Gia đình học tập")
    assert "Gồm 9 câu hỏi" in lan.text
    assert "chỉ để tham khảo" in lan.text  # the disclaimer
    assert "Bản nháp" in lan.text  # draft status is said plainly, once
    assert "Nội dung 2b" not in lan.text and "448" not in lan.text  # the detail waits behind
    await lan.press("Nguồn và lưu ý")
    assert "Quyết định 448/QĐ-KHVN" in lan.text and "mức điểm đạt chính thức" in lan.text.lower()
    await lan.press("Quay lại")
    assert "Gồm 9 câu hỏi" in lan.text
    await lan.press("Bắt đầu")
    assert question_number(lan) == (1, 9)
    assert "Dừng, hủy bài" in lan.labels() and "‹ Câu trước" not in lan.labels()

    # Answer the first question "not yet", the rest with the best option.
    await lan.press(option_labels(lan)[1])
    assert question_number(lan) == (2, 9)
    await answer_all(lan)
    assert "Kết quả: Tự đánh giá Gia đình học tập" in lan.text or "Kết quả:" in lan.text
    assert "đáp ứng 3/4 tiêu chí" in lan.text
    assert "⬜" in lan.text and lan.text.count("✅") == 3
    assert "Gợi ý nằm dưới từng tiêu chí còn lại" in lan.text
    # Each criterion: its points, its maximum, what it needs; the advice right under the unmet one.
    lines = lan.text.splitlines()
    unmet = next(i for i, line in enumerate(lines) if line.startswith("⬜"))
    assert lines[unmet] == "⬜ Việc học của trẻ em trong gia đình: 20/30 điểm, cần 30"
    assert lines[unmet + 1].strip().startswith("→ Nhắc các cháu học bài")
    assert "✅ Việc học của người lớn trong gia đình: 20/20 điểm, cần 20" in lines
    assert lan.text.count("→") == 1  # no advice for what is met
    assert "chưa phải mức đạt chính thức" in lan.text  # said once, briefly
    assert lan.text.count("chính thức") == 1
    assert "chỉ để tham khảo" in lan.text
    assert "Nhắc sau 30 ngày" in lan.labels()

    run = (await app.store.assessments.history((await lan.user()).id))[0]
    assert run.definition_id == "gia-dinh-hoc-tap" and run.version == 1
    assert (run.role, run.area_code) == ("ho-gia-dinh", "31135")
    assert len(run.answers) == 9 and run.passed is False
    assert [c["met"] for c in run.criteria] == [False, True, True, True]
    assert run.finished_at is not None

    await lan.press("Nhắc sau 90 ngày")
    assert "Hội sẽ nhắc Anh/Chị làm lại bài “Tự đánh giá Gia đình học tập”" in lan.text
    assert "27/12/2026" in lan.text
    due = await app.store.assessments.recheck_due(run.user_id, "gia-dinh-hoc-tap")
    assert due is not None and (due - run.finished_at).days == 90


async def test_back_changes_an_answer_and_cancel_deletes_partial_answers(app):
    member = Member(app)
    await onboard(member)
    await begin(member, "Công dân học tập")
    first = option_labels(member)[0]
    await member.press(first)
    await member.press(option_labels(member)[1])
    assert question_number(member) == (3, 10)
    await member.press("‹ Câu trước")
    assert question_number(member) == (2, 10)
    assert any(label.startswith("✓ ") for label in member.labels())  # the earlier choice shows
    await member.press("‹ Câu trước")
    assert question_number(member) == (1, 10)
    assert f"✓ {first}" in member.labels()

    await member.press("Dừng, hủy bài")
    assert "Đã hủy bài" in member.text
    row = await app.store.db.fetchone("SELECT status, answers FROM assessment_runs")
    assert (row["status"], json.loads(row["answers"])) == ("abandoned", {})


async def test_resume_after_a_restart_on_the_same_database(settings, clock, catalog):
    first = await App.create(settings, clock=clock, catalog=catalog)
    member = Member(first)
    await onboard(member)
    await begin(member, "Dòng họ học tập")
    await member.press(option_labels(member)[0])
    await member.press(option_labels(member)[0])
    assert question_number(member) == (3, 6)
    await first.close()

    second = await App.create(settings, clock=clock, catalog=catalog)
    try:
        member.app = second
        await member.command("/start")
        assert "đang làm dở “Tự đánh giá Dòng họ học tập” (đến câu 3/6)" in member.text
        await member.press("Làm tiếp")
        assert question_number(member) == (3, 6)
        await answer_all(member)
        assert "đáp ứng đủ 4/4 tiêu chí" in member.text
    finally:
        await second.close()


async def test_retake_and_history_show_the_change(app, clock):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    await answer_all(member, pick=lambda options: options[1])  # a weaker first try
    first_met = int(re.search(r"đáp ứng (\d)/4", member.text).group(1))

    clock.advance(days=30)
    await member.press("Làm lại")
    await answer_all(member)
    assert "đáp ứng đủ 4/4 tiêu chí" in member.text
    await member.press("Kết quả đã làm")
    lines = [line for line in member.text.splitlines() if line[:2] in ("1.", "2.")]
    assert len(lines) == 2
    assert "4/4 tiêu chí" in lines[0] and f"tăng {4 - first_met}" in lines[0]  # newest first
    assert "Thứ Tư, 28/10/2026" in lines[0] and "Thứ Hai, 28/09/2026" in lines[1]
    assert "Làm lại: Gia đình học tập" in member.labels()

    # Any past result reopens whole, with its advice, from the history.
    await member.press("Xem 2")
    assert "Kết quả ngày Thứ Hai, 28/09/2026: Tự đánh giá Gia đình học tập" in member.text
    assert f"đáp ứng {first_met}/4 tiêu chí" in member.text
    assert "→" in member.text  # the advice of the criteria not met then
    assert "Nhắc sau 30 ngày" not in member.labels()  # a past result is read, not acted on
    await member.press("Kết quả đã làm")
    await member.press("Xem 1")
    assert "đáp ứng đủ 4/4 tiêu chí" in member.text and "→" not in member.text


async def test_stale_and_forged_answers_lose_nothing(app):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    first_question = member.buttons()
    await member.press(option_labels(member)[0])
    run = (await app.store.assessments.in_progress((await member.user()).id))[0]
    assert run.position == 1

    # A button of the first question, pressed again from the old message.
    await member.press_data(first_question[1].action)
    assert "Nút đó thuộc một câu khác" in member.text and question_number(member) == (2, 9)
    # An option that is not in the question.
    await member.press_data(f"aa:{run.id}:1:9")
    assert "không có trong câu hỏi" in member.text and question_number(member) == (2, 9)
    # Someone else's run, a run that does not exist, garbage.
    stranger = Member(app, user_id="5005", name="Người lạ")
    await stranger.command("/start")
    for data in (f"aa:{run.id}:1:0", "aa:999999:0:0", "aa:x:y:z", f"ab:{run.id}", f"am:{run.id}:7"):
        await stranger.press_data(data)
        assert "Nút này đã cũ" in stranger.text, data
    after = await app.store.assessments.get(run.id)
    assert after.position == 1 and after.answers == run.answers  # nothing lost, nothing changed

    await answer_all(member)
    await member.press_data(first_question[0].action)  # answering a finished run
    assert "đã xong và kết quả đã được lưu" in member.text


async def republish(member: Member, settings, clock, catalog) -> App:
    """The staff publish new content and the bot restarts on it: the member goes on talking to
    the new process, on the same database."""
    await member.app.close()
    member.app = await App.create(settings, clock=clock, catalog=catalog)
    return member.app


async def test_a_run_continues_on_the_version_it_started_on(settings, clock, tmp_path):
    import shutil

    app = await App.create(settings, clock=clock, catalog=shared_catalog())
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    await member.press(option_labels(member)[0])

    # Staff publish version 2 with one question fewer while the member is answering.
    changed = tmp_path / "content"
    shutil.copytree(CONTENT, changed)
    path = changed / "assessments" / "gia-dinh-hoc-tap.yaml"
    text = path.read_text(encoding="utf-8").replace("version: 1", "version: 2", 1)
    path.write_text(text, encoding="utf-8")
    v2 = load_catalog(changed)
    family = v2.definition("gia-dinh-hoc-tap")
    shorter = dataclasses.replace(
        family,
        criteria=(
            dataclasses.replace(family.criteria[0], questions=family.criteria[0].questions[:1]),
            *family.criteria[1:],
        ),
    )
    v2 = dataclasses.replace(
        v2, definitions=tuple(shorter if d.id == shorter.id else d for d in v2.definitions)
    )
    app = await republish(member, settings, clock, v2)
    try:
        assert question_number(member) == (2, 9)
        await answer_all(member)
        run = (await app.store.assessments.history((await member.user()).id))[0]
        assert run.version == 1 and len(run.answers) == 9  # finished on v1

        await member.press("Làm lại")  # a new run takes the new version
        assert question_number(member) == (1, 7)
    finally:
        await app.close()


async def test_a_deleted_definition(settings, clock):
    app = await App.create(settings, clock=clock, catalog=shared_catalog())
    member = Member(app)
    await onboard(member)
    await begin(member, "Đơn vị học tập")
    await member.press(option_labels(member)[0])
    open_button = "ad:don-vi-hoc-tap"

    catalog = app.catalog
    without = dataclasses.replace(
        catalog, definitions=tuple(d for d in catalog.definitions if d.id != "don-vi-hoc-tap")
    )
    app = await republish(member, settings, clock, without)
    try:
        await member.press_data(open_button)
        assert "Nút này đã cũ" in member.text
        await member.command("/assess")
        assert "Đơn vị học tập" not in member.labels()
        assert "đang làm dở" in member.text  # the unfinished run is offered, from its snapshot
        await member.press("Làm tiếp: Đơn vị học tập")
        await answer_all(member)
        assert "Kết quả:" in member.text
    finally:
        await app.close()


async def test_a_poster_link_asks_consent_then_the_profile_then_opens_the_assessment(app):
    member = Member(app)
    await member.command("/start assess-cong-dan-hoc-tap")  # the QR code on a poster
    assert "Kính chào Lan!" in member.text and "Tiếng Việt" in member.labels()
    assert await member.user() is None  # nothing kept before consent
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press("Hộ gia đình")
    await member.say("ninh kieu")
    await member.press("phường Ninh Kiều")
    assert "Công dân học tập" in member.text and "Gồm 10 câu hỏi" in member.text
    user = await member.user()
    assert user.consented and user.area_code == "31135" and user.role == "ho-gia-dinh"
    await member.press("Bắt đầu")
    run = (await app.store.assessments.in_progress(user.id))[0]
    assert (run.area_code, run.role) == ("31135", "ho-gia-dinh")  # figures count it by ward

    await member.command("/start assess-khong-co")  # unknown, for a member: the normal start
    assert "Chào mừng Lan quay lại!" in member.text


async def test_a_deep_link_to_an_assessment_for_a_member_opens_it_at_once(app):
    member = Member(app)
    await onboard(member)
    await member.command("/start assess-cong-dan-hoc-tap")
    assert "Công dân học tập" in member.text and "Gồm 10 câu hỏi" in member.text


async def test_plan_knowledge_check_counts_as_briefed(app):
    member = Member(app)
    await onboard(member)
    await member.command("/plans")
    await member.press("QĐ 387 (cả nước)")
    await member.press("Kiểm tra hiểu biết")
    assert "Gồm 4 câu hỏi" in member.text
    assert "phiếu chấm" not in member.text  # a plan quiz has no score sheet to be checked against
    await member.press("Bắt đầu")
    definition = app.catalog.quiz_for("qd-387-2022")
    for index, question in enumerate(definition.questions):
        correct = next(o for o in question.options if o.correct)
        wrong = next(o for o in question.options if not o.correct)
        choice = wrong if index == 0 else correct
        await member.press(app.services.i18n.text("vi", choice.text))
        if index == 0:
            assert "Chưa đúng. Đáp án đúng:" in member.text
        else:
            assert "✅ Đúng rồi!" in member.text
    assert "trả lời đúng 3/4 câu" in member.text
    assert await app.store.assessments.passed_quiz_plans((await member.user()).id) == {
        definition.id
    }


async def test_unfinished_runs_expire(app, clock):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    await member.press(option_labels(member)[0])
    clock.advance(days=31)
    await member.command("/assess")
    assert "đang làm dở" not in member.text
    row = await app.store.db.fetchone("SELECT status, answers FROM assessment_runs")
    assert (row["status"], row["answers"]) == ("abandoned", "{}")


async def test_mydata_and_forget_cover_assessments(app):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    await answer_all(member)
    await member.press("Nhắc sau 30 ngày")
    await member.command("/mydata")
    assert "1 bài tự đánh giá" in member.text and "1 lời nhắc" in member.text
    await member.command("/forget")
    await member.press("Xóa hết")
    assert "1 bài tự đánh giá" in member.text
    for table in ("assessment_runs", "recheck_reminders", "users"):
        assert (await app.store.db.fetchone(f"SELECT count(*) FROM {table}"))[0] == 0


async def test_a_quiz_leads_back_to_its_plan(app):
    member = Member(app)
    await onboard(member)
    await member.command("/start plan-qd-387-2022")  # a plan's address, as a t.me link
    assert "Quyết định 387/QĐ-TTg" in member.text and "Mục tiêu" in member.labels()
    await member.press("Kiểm tra hiểu biết")
    assert "Gồm 4 câu hỏi" in member.text
    assert "phiếu chấm" not in member.text  # a plan quiz has no score sheet to be checked against
    await member.press("Quay lại")  # back to the plan it belongs to, in place
    assert "Quyết định 387/QĐ-TTg" in member.text and "Kiểm tra hiểu biết" in member.labels()
    assert member.replies[0].edit
    await member.press_data("go:plan-khong-co")  # an address that leads nowhere
    assert "Nút này đã cũ" in member.text
    await member.command("/start plan-khong-co")
    assert "Chào mừng Lan quay lại!" in member.text  # an unknown plan: the normal start


async def test_an_answer_reads_its_run_once(app, monkeypatch):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    runs = app.store.assessments
    reads = []
    original = runs.get

    async def counted(run_id):
        reads.append(run_id)
        return await original(run_id)

    monkeypatch.setattr(runs, "get", counted)
    await member.press(option_labels(member)[0])
    assert question_number(member) == (2, 9)
    assert len(reads) == 1


async def test_only_a_result_can_be_rechecked_and_only_by_its_member(app):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    user = await member.user()
    service = app.services.assessments
    [(run, definition)] = await service.unfinished(user.id)
    assert definition.id == "gia-dinh-hoc-tap"
    assert await service.run_of(user.id + 1, run.id) is None  # someone else's run
    with pytest.raises(ValueError):
        await service.remind_recheck(run, 30)
    await answer_all(member)
    done, _ = await service.run_of(user.id, run.id)
    due = await service.remind_recheck(done, 30)
    assert due == done.finished_at + timedelta(days=30)
    assert await app.store.assessments.recheck_due(user.id, definition.id) == due
    assert [r.id for r in await service.history(user.id)] == [run.id]


async def test_typing_in_the_middle_of_an_assessment_repeats_the_question(app):
    member = Member(app)
    await onboard(member)
    await begin(member, "Gia đình học tập")
    await member.press(option_labels(member)[0])
    assert question_number(member) == (2, 9)

    await member.say("cháu nhà tôi học lớp 5")  # not an answer: a hint, the same question
    assert "Hội chưa hiểu ý Anh/Chị" in member.text
    assert question_number(member) == (2, 9) and len(option_labels(member)) == 3
    assert "Anh/Chị muốn xem gì" not in member.text  # not dropped to the main menu
    assert not await app.store.tickets.get(1)  # nor filed as a question to staff

    await member.say("7")  # a number outside the options
    assert "Anh/Chị chọn từ 1 đến 3" in member.text and question_number(member) == (2, 9)
    await member.say("2")  # a number inside them picks that option
    assert question_number(member) == (3, 9)
    run = (await app.services.assessments.unfinished((await member.user()).id))[0][0]
    assert run.answers["hoc-luc"] == "chua"

    await member.command("/menu")  # leaving is still one command away; the run is kept
    await member.say("tuần lễ học tập suốt đời khi nào")
    assert "Hội chưa hiểu ý Anh/Chị" not in member.text
