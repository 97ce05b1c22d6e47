"""Branches: staff roles scoped to wards/communes, everything staff see and do limited to the
scope, approval of large branch broadcasts, the audit log, and officers' helper mode."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys

import openpyxl

from bot.core.roles import RANK as ROLE_RANK
from bot.records import AudienceFilter, Session
from bot.services.staff import Scope
from tests.handlers.test_admin import SUPER_ID, staff
from tests.helpers import Member
from tests.outreach.conftest import seed

NINH_KIEU, HOA_AN, CAI_KHE = "31135", "31393", "31120"


def run_cli(settings, *args):
    """`khuyenhoc ARGS` on the test's database, as the operator types it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM")}
    environment.update(
        DATABASE_PATH=str(settings.database_path), CONTENT_DIR=str(settings.content_dir)
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


async def grant(app, member: Member, role: str, *areas: str) -> None:
    user = await member.user()
    await app.services.staff.grant(user, role, "test", areas)


async def resident(app, user_id: str, area_query: str, area_label: str, name="Hội viên") -> Member:
    member = Member(app, user_id=user_id, name=name)
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press("Hộ gia đình")
    await member.say(area_query)
    await member.press(area_label)
    return member


# -- 1. scope on every role -------------------------------------------------------------------
async def test_a_super_admin_grants_a_role_for_an_area_by_name_and_it_is_audited(app):
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    helper = await staff(app, "3003", None, name="Thư ký")
    await boss.command("/admins")
    await boss.say("3003")
    await boss.press("cán bộ chi hội")
    assert "Cấp quyền cán bộ chi hội cho Thư ký ở đâu?" in boss.text
    await boss.say("hoa an")  # no accents, lower case
    assert "Đã cấp quyền cán bộ chi hội cho Thư ký, phạm vi: xã Hòa An." in boss.text
    assert "Thư ký (ID 3003): cán bộ chi hội · xã Hòa An" in boss.text
    scope = await app.services.staff.scope_of(await helper.user())
    assert scope == Scope("officer", frozenset({HOA_AN}))
    assert scope.covers(HOA_AN) and not scope.covers(NINH_KIEU) and not scope.covers(None)

    # Typed, several areas; an unclear name is one clear line and changes nothing.
    await boss.command("/admins grant 3003 editor cai")
    assert "“cai” khớp với nhiều nơi: phường Cái Khế, phường Cái Răng" in boss.text
    assert (await app.services.staff.scope_of(await helper.user())).role == "officer"
    await boss.command("/admins grant 3003 editor Phường Ninh Kiều, Hòa An")
    assert "phạm vi: phường Ninh Kiều, xã Hòa An" in boss.text
    scope = await app.services.staff.scope_of(await helper.user())
    assert scope == Scope("editor", frozenset({NINH_KIEU, HOA_AN}))

    [latest, first] = [e for e in await app.services.staff.audit_trail() if e.action == "grant"]
    assert latest.detail == {
        "user": "telegram:3003",
        "role": "editor",
        "areas": [NINH_KIEU, HOA_AN],
    }
    assert first.detail["areas"] == [HOA_AN] and first.actor == "telegram:999"


async def test_city_staff_and_members_have_the_scopes_they_should(app):
    boss = await staff(app, SUPER_ID, None)
    city = await staff(app, "3004", "admin")
    member = await staff(app, "3005", None)
    scope_of = app.services.staff.scope_of
    assert (await scope_of(await boss.user())).city
    city_scope = await scope_of(await city.user())
    assert city_scope.city and city_scope.covers(None) and city_scope.may_approve()
    member_scope = await scope_of(await member.user())
    assert not member_scope.covers(NINH_KIEU) and not member_scope.may_send()


# -- 2. everything limited to the scope --------------------------------------------------------
def _forged(action_type, outside) -> str:
    """A well-formed button of this type pointing at things outside the editor's area."""
    values = {}
    for field in dataclasses.fields(action_type):
        kind = action_type._hints[field.name]
        if field.name in outside:
            values[field.name] = outside[field.name]
        else:
            values[field.name] = "admin" if kind is str else (outside["int"] if kind is int else 1)
    return action_type(**values).pack()


REFUSED = ("Nút này đã cũ", "nằm ngoài phạm vi")


async def test_an_area_editor_reaches_nothing_outside_the_area_whatever_the_path(
    app, settings, clock
):
    """Every staff command, button (forged to point outside), typed state and the CLI grant: an
    editor of xã Hòa An sees and changes nothing of phường Ninh Kiều."""
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    editor = await resident(app, "3100", "hoa an", "xã Hòa An", name="Cán bộ Hòa An")
    outsider = await resident(app, "5001", "ninh kieu", "phường Ninh Kiều", name="Bà Năm")
    neighbour = await resident(app, "5002", "hoa an", "xã Hòa An", name="Ông Tư")
    assert boss

    # The role comes from the command line, while the bot has the database open.
    granted = run_cli(settings, "admins", "grant", "3100", "--role", "editor", "--area", "Hòa An")
    assert granted.returncode == 0, granted.stderr
    clock.advance(seconds=1)  # the bot looks for another process's writes once a second
    assert (await app.services.staff.scope_of(await editor.user())).codes == (HOA_AN,)

    # Things of Ninh Kiều: a city draft to it, a member's question, a ward event.
    outreach = app.services.outreach
    draft = await outreach.draft("telegram:999", "Tin riêng Ninh Kiều")
    draft = await outreach.set_audience(draft.id, AudienceFilter(areas=(NINH_KIEU,)))
    question = await app.services.inbox.ask(await outsider.user(), "Câu hỏi bí mật Ninh Kiều")
    inside = await app.services.inbox.ask(await neighbour.user(), "Câu hỏi của Hòa An")
    event_id = await app.services.calendar.add_event(
        "Họp phường Ninh Kiều", "2026-10-05", "telegram:999", areas=(NINH_KIEU,)
    )
    helped = await app.services.members.register_assisted(
        "Cụ Chín", "ho-gia-dinh", NINH_KIEU, "vi", "telegram:999"
    )
    secrets = (
        "Tin riêng Ninh Kiều",
        "Câu hỏi bí mật Ninh Kiều",
        "Họp phường Ninh Kiều",
        "Cụ Chín",
    )

    async def nothing_outside_changed(what):
        kept = await outreach.get(draft.id)
        assert (kept.status, kept.audience.areas) == ("draft", (NINH_KIEU,)), what
        ticket = await app.services.inbox.get(question.id)
        assert (ticket.status, ticket.assigned_to, ticket.answer) == ("open", None, None), what
        assert app.services.reminders.event(event_id) is not None, what
        assert not await app.store.assessments.in_progress(helped.id), what
        assert not any(s in editor.text for s in secrets), what
        others = await app.store.announcements.listing(["scheduled", "sending", "done"])
        assert all(not set(a.audience.areas) - {HOA_AN} for a in others), what

    root = app.dispatcher.root
    rank = ROLE_RANK["editor"]
    # Commands, bare and pointed outside.
    for command, needed in root.command_roles.items():
        if ROLE_RANK[needed] > rank:
            continue
        for args in ("", str(draft.id), str(question.id), "ninh kieu"):
            await editor.command(f"/{command} {args}".strip())
            await nothing_outside_changed(f"/{command} {args}")
    # Inside the area, the editor works: their own member's question is there.
    await editor.command("/inbox")
    assert "Câu hỏi của Hòa An" in editor.text and f"Giao #{inside.id}" not in editor.labels()

    # Every button, forged to point outside.
    outside = {
        "announcement": draft.id,
        "ticket": question.id,
        "code": NINH_KIEU,
        "event_id": event_id,
        "user": (await outsider.user()).id,
        "member": helped.id,
        "to": (await outsider.user()).id,
        "int": draft.id,
        "at": int(app.services.clock().timestamp()) + 86400,
    }
    refusals = 0
    for action_type, needed in root.action_roles.items():
        if ROLE_RANK[needed] > rank:
            continue
        await editor.press_data(_forged(action_type, outside))
        await nothing_outside_changed(action_type.__name__)
        if dataclasses.fields(action_type):
            assert any(r in editor.text for r in REFUSED), (action_type, editor.text)
            refusals += 1
    assert refusals >= 15

    # Every typed step, as if a session pointed outside.
    user = await editor.user()
    for state, needed in root.state_roles.items():
        if ROLE_RANK[needed] > rank:
            continue
        data = {
            "announcement": draft.id,
            "ticket": question.id,
            "title": "X",
            "start": "2026-10-09",
        }
        await app.store.sessions.save(user.id, Session(state, data))
        await editor.say("ninh kieu 01/10 07:30")
        await nothing_outside_changed(state)

    # Refusals are audited with the editor's scope.
    refused = [e for e in await app.services.staff.audit_trail(500) if e.action == "refused"]
    assert refused and all(e.scope == (HOA_AN,) for e in refused)
    assert all(e.actor == "telegram:3100" for e in refused)


async def test_a_branch_writes_to_its_own_area_and_the_preview_says_so(app):
    editor = await resident(app, "3100", "hoa an", "xã Hòa An", name="Cán bộ Hòa An")
    await grant(app, editor, "editor", HOA_AN)
    await resident(app, "5002", "hoa an", "xã Hòa An")
    await resident(app, "5001", "ninh kieu", "phường Ninh Kiều")
    await editor.command("/announce")
    await editor.say("Họp chi hội Hòa An")
    assert "Người nhận: xã Hòa An" in editor.text
    assert "Trong phạm vi: xã Hòa An, 2 người." in editor.text  # the editor and the neighbour
    await editor.press("Tất cả")  # "everyone" of a branch is its own area, never the city
    assert "Người nhận: xã Hòa An" in editor.text
    await editor.press("Xã, phường")
    await editor.say("ninh kieu")
    assert "phường Ninh Kiều" not in editor.labels()
    await editor.press("Xong")
    await editor.press("Xem trước ›")
    assert "Trong phạm vi: xã Hòa An, 2 người." in editor.text
    await editor.press("Gửi ngay")  # a small broadcast goes straight out
    assert "Đã bắt đầu gửi thông báo" in editor.text
    [sent] = await app.store.announcements.listing(["scheduled"])
    assert sent.audience.areas == (HOA_AN,) and sent.approval is None


async def test_figures_and_exports_of_a_branch_are_its_areas_only(app):
    admin = await resident(app, "3100", "hoa an", "xã Hòa An", name="Cán bộ Hòa An")
    await grant(app, admin, "admin", HOA_AN)
    await seed(app, 6, start=100, area_code=NINH_KIEU, role="ho-gia-dinh")
    await seed(app, 6, start=200, area_code=HOA_AN, role="ho-gia-dinh")
    await admin.command("/stats")
    assert "Số liệu của xã Hòa An" in admin.text
    await admin.press("Xuất thành viên")
    [document] = [r.document for r in admin.replies if r.document]
    sheet = openpyxl.load_workbook(io.BytesIO(document)).worksheets[-1]
    areas = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert areas and all(area == "xã Hòa An" for area in areas)  # Ninh Kiều's are not there


# -- 3. approval of large branch broadcasts ----------------------------------------------------
async def _compose(editor: Member, text: str) -> None:
    await editor.command("/announce")
    await editor.say(text)
    await editor.press("Xem trước ›")


async def test_a_large_branch_broadcast_waits_for_a_city_admin_and_goes_out_once(app):
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    city_admin = await staff(app, "3004", "admin", name="Quản trị TP")
    editor = await resident(app, "3100", "hoa an", "xã Hòa An", name="Cán bộ Hòa An")
    await grant(app, editor, "editor", HOA_AN)
    branch_admin = await resident(app, "3101", "hoa an", "xã Hòa An", name="Chi hội trưởng")
    await grant(app, branch_admin, "admin", HOA_AN)
    await seed(app, 199, start=10_000, area_code=HOA_AN)  # 201 members with the two staff

    await _compose(editor, "Họp toàn xã Hòa An")
    assert "Trong phạm vi: xã Hòa An, 201 người." in editor.text
    await editor.press("Gửi ngay")
    assert "cần quản trị viên thành phố duyệt" in editor.text
    [waiting] = await app.store.announcements.listing(["draft"])
    assert (waiting.approval, waiting.status) == ("waiting", "draft")
    # Both city approvers are told, with the audience and the text; nobody else.
    told = await app.store.announcements.listing(["scheduled"])
    assert sorted(a.audience.user_ids for a in told) == sorted(
        [((await boss.user()).id,), ((await city_admin.user()).id,)]
    )
    assert all("201 người" in a.text and "Họp toàn xã Hòa An" in a.text for a in told)
    # The author sees the state and can no longer change what waits.
    await editor.command("/scheduled")
    assert f"#{waiting.id} · chờ duyệt" in editor.text
    await editor.press_data(f"xa:{waiting.id}:all")
    assert "Nút này đã cũ" in editor.text
    await editor.press_data(f"xv:{waiting.id}")
    assert "Đang chờ Hội (quản trị viên thành phố) duyệt." in editor.text
    assert editor.labels() == ["Hủy thông báo"]
    # A branch's admin does not approve, whatever the path.
    await branch_admin.command("/approvals")
    assert "nằm ngoài phạm vi" in branch_admin.text
    await branch_admin.press_data(f"ya:{waiting.id}")
    assert "nằm ngoài phạm vi" in branch_admin.text
    assert (await app.store.announcements.get(waiting.id)).approval == "waiting"

    await city_admin.command("/approvals")
    assert f"#{waiting.id} · xã Hòa An · 201 người" in city_admin.text
    await city_admin.press(f"Xem #{waiting.id}")
    assert city_admin.replies[0].text == "Họp toàn xã Hòa An"  # exactly what will go out
    assert "Thời gian gửi: ngay khi được duyệt" in city_admin.text
    approve = city_admin.button("Duyệt").action
    await city_admin.press("Duyệt")
    assert f"Đã duyệt thông báo #{waiting.id}" in city_admin.text
    approved = await app.store.announcements.get(waiting.id)
    assert (approved.status, approved.approval, approved.approval_by) == (
        "scheduled",
        "approved",
        "telegram:3004",
    )
    assert approved.report_chat == "3100"  # the author follows its progress
    # Nothing twice: a second press, another admin, or the service again.
    await city_admin.press_data(approve)
    assert "Nút này đã cũ" in city_admin.text
    await boss.press_data(approve)
    assert "Nút này đã cũ" in boss.text
    assert await app.services.outreach.approve(waiting.id, "telegram:999") is None
    recipients = await app.store.announcements.start_sending(approved, (), None)
    assert recipients == 201
    assert await app.store.announcements.start_sending(approved, (), None) == 0
    to_author = [
        a
        for a in await app.store.announcements.listing(["scheduled"], limit=100)
        if a.audience.user_ids == ((await editor.user()).id,)
    ]
    assert len(to_author) == 1 and "đã được duyệt" in to_author[0].text
    assert [e.action for e in await app.services.staff.audit_trail()].count("approve") == 1


async def test_a_scheduled_branch_broadcast_waits_too_and_a_return_tells_the_author_why(app):
    city_admin = await staff(app, "3004", "admin", name="Quản trị TP")
    editor = await resident(app, "3100", "hoa an", "xã Hòa An", name="Cán bộ Hòa An")
    await grant(app, editor, "editor", HOA_AN)
    await seed(app, 200, start=10_000, area_code=HOA_AN)

    await _compose(editor, "Ngày hội khuyến học")
    await editor.press("Hẹn giờ")
    await editor.say("01/10 07:30")
    await editor.press("Xác nhận")
    assert "cần quản trị viên thành phố duyệt" in editor.text
    [waiting] = await app.store.announcements.listing(["draft"])
    assert waiting.wanted_at.isoformat() == "2026-10-01T00:30:00+00:00"
    assert waiting.status == "draft"  # not due: nothing goes out while it waits

    await city_admin.command("/approvals")
    await city_admin.press(f"Xem #{waiting.id}")
    assert "Thời gian gửi: Thứ Năm, 01/10/2026 lúc 07:30" in city_admin.text
    await city_admin.press("Trả lại")
    await city_admin.say("Cần ghi rõ địa điểm")
    assert f"Đã trả lại thông báo #{waiting.id}" in city_admin.text
    returned = await app.store.announcements.get(waiting.id)
    assert (returned.status, returned.approval, returned.approval_note) == (
        "draft",
        "returned",
        "Cần ghi rõ địa điểm",
    )
    [note] = [
        a
        for a in await app.store.announcements.listing(["scheduled"], limit=100)
        if a.audience.user_ids == ((await editor.user()).id,)
    ]
    assert "lý do: Cần ghi rõ địa điểm" in note.text
    await editor.press_data(f"xv:{waiting.id}")
    assert "Đã bị trả lại: Cần ghi rõ địa điểm" in editor.text
    # The author may send it again: it waits once more.
    await editor.press("Gửi ngay")
    assert (await app.store.announcements.get(waiting.id)).approval == "waiting"


# -- 4. the audit log --------------------------------------------------------------------------
async def test_super_admins_read_the_audit_log_and_a_forgotten_member_leaves_only_the_action(app):
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    helper = await resident(app, "3003", "hoa an", "xã Hòa An", name="Thư ký")
    await boss.command("/admins grant 3003 officer Hòa An")
    await helper.command("/admins")  # refused: audited with the officer's scope
    await boss.command("/audit")
    assert "telegram:999 · grant · toàn thành phố" in boss.text
    assert "user=telegram:3003, role=officer, areas=31393" in boss.text
    assert "telegram:3003 · refused · xã Hòa An" in boss.text
    await boss.command("/audit 3003")
    assert "grant" not in boss.text and "refused" in boss.text
    await helper.command("/audit")
    assert "Hội chưa có lệnh /audit." in helper.text

    await helper.command("/forget")
    await helper.press("Xóa hết")
    trail = await app.services.staff.audit_trail()
    assert [e.action for e in trail][-2:] == ["refused", "grant"]  # the actions stay
    assert all("3003" not in e.actor and "3003" not in str(e.detail) for e in trail)


# -- 5. helper mode ----------------------------------------------------------------------------
async def test_an_officer_registers_and_assesses_someone_who_does_not_chat(app):
    officer = await resident(app, "3200", "hoa an", "xã Hòa An", name="Cán bộ chi hội")
    await grant(app, officer, "officer", HOA_AN)
    before = await app.services.reports.figures(app.services.clock())

    await officer.command("/helper")
    assert "Chưa có ai." in officer.text
    await officer.press("Đăng ký người mới")
    await officer.say("Bà Sáu")
    await officer.press("Hộ gia đình")
    # One area in scope: no question about where; the notice to read aloud, then the consent.
    assert "Anh/Chị đọc to cho Bà Sáu (Hộ gia đình, xã Hòa An)" in officer.text
    assert "Thông tin Hội lưu lại" in officer.text
    await officer.press("Tôi đã đọc và người này đồng ý")
    assert "Đã đăng ký Bà Sáu." in officer.text
    await officer.press("Tự đánh giá: Bà Sáu")
    await officer.press("Tự đánh giá Gia đình học tập")
    for _ in range(9):
        assert "Nhập hộ cho Bà Sáu" in officer.text
        await officer.press(officer.labels()[0])
    assert "Đã lưu kết quả “Tự đánh giá Gia đình học tập” của Bà Sáu (nhập hộ)" in officer.text

    [person] = await app.services.members.registered_by("telegram:3200")
    assert (person.channel, person.area_code, person.role) == ("assisted", HOA_AN, "ho-gia-dinh")
    assert person.consented and person.chat_id == ""  # a member without a chat account
    # Counted in the figures ...
    after = await app.services.reports.figures(app.services.clock())
    assert after.members == before.members + 1
    family = next(t for t in after.titles if t.title_id == "gia-dinh-hoc-tap")
    assert family.respondents == 1
    # ... marked in the export ...
    export = (await app.services.reports.export_assessments()).decode("utf-8-sig")
    header, row = export.splitlines()
    assert header.endswith(",entered") and row.endswith(",nhập hộ")
    # ... never messaged ...
    assert await app.services.outreach.audience_size(AudienceFilter(areas=(HOA_AN,))) == 1
    assert await app.services.outreach.audience_size(AudienceFilter(user_ids=(person.id,))) == 0
    # ... and in the officer's list of the people they helped.
    await officer.command("/helper")
    assert "Bà Sáu · Hộ gia đình · xã Hòa An · đăng ký 28/09/2026" in officer.text
    actions = {e.action: e for e in await app.services.staff.audit_trail()}
    assert actions["assisted_register"].scope == (HOA_AN,)
    assert actions["assisted_assessment"].detail["member"] == f"assisted:{person.external_id}"



async def test_an_officer_hands_a_helped_person_over_to_their_own_phone(app):
    """Registered and assessed by an officer, the person later gets a phone: the officer gives
    a code, the person sends it from their own app, and the records become theirs there."""
    officer = await resident(app, "3200", "hoa an", "xã Hòa An", name="Cán bộ chi hội")
    await grant(app, officer, "officer", HOA_AN)
    await officer.command("/helper")
    await officer.press("Đăng ký người mới")
    await officer.say("Bà Sáu")
    await officer.press("Hộ gia đình")
    await officer.press("Tôi đã đọc và người này đồng ý")
    await officer.press("Tự đánh giá: Bà Sáu")
    await officer.press("Tự đánh giá Gia đình học tập")
    for _ in range(9):
        await officer.press(officer.labels()[0])
    [person] = await app.services.members.registered_by("telegram:3200")

    await officer.command("/helper")
    await officer.press("Tự đánh giá: Bà Sáu")
    await officer.press("Trao cho người này tự dùng")
    assert "Mã trao lại cho Bà Sáu" in officer.text
    code = re.search(r"/link (\d{4} \d{4})", officer.text)[1]

    her_phone = Member(app, user_id="3300", name="Sáu")  # a new Telegram account
    await her_phone.command(f"/link {code}")
    assert "Đã liên kết" in her_phone.text
    mine = await her_phone.user()
    assert mine.id == person.id  # the same person: profile, consent and results
    assert (mine.channel, mine.chat_id, mine.area_code) == ("telegram", "3300", HOA_AN)
    await her_phone.command("/mydata")
    assert "Hòa An" in her_phone.text
    [run] = await app.store.assessments.history(person.id)
    assert run.definition_id == "gia-dinh-hoc-tap"
    # Now reachable on her own phone, once; the officer's list says she uses the app herself.
    assert await app.services.outreach.audience_size(AudienceFilter(user_ids=(person.id,))) == 1
    await officer.command("/helper")
    assert "Sáu · Hộ gia đình · xã Hòa An" in officer.text  # her name as her app gives it
    assert "đã tự dùng ứng dụng" in officer.text
    assert "Tự đánh giá: Bà Sáu" not in officer.labels()
    # The code worked once.
    stranger = Member(app, user_id="3301", name="Ai đó")
    await stranger.command(f"/link {code}")
    assert "không đúng hoặc đã hết hạn" in stranger.text

async def test_an_officer_helps_nobody_outside_their_area(app):
    officer = await resident(app, "3200", "hoa an", "xã Hòa An", name="Cán bộ chi hội")
    await grant(app, officer, "officer", HOA_AN, CAI_KHE)
    stranger = await app.services.members.register_assisted(
        "Ông Bảy", "ho-gia-dinh", NINH_KIEU, "vi", "telegram:999"
    )
    await officer.press_data(f"hs:{stranger.id}")
    assert "nằm ngoài phạm vi" in officer.text
    await officer.press_data(f"hd:{stranger.id}:gia-dinh-hoc-tap")
    assert "nằm ngoài phạm vi" in officer.text
    assert not await app.store.assessments.history(stranger.id)
    # Two areas in scope: the officer types where; another ward is not offered.
    await officer.command("/helper")
    await officer.press("Đăng ký người mới")
    await officer.say("Bà Tám")
    await officer.press("Hộ gia đình")
    await officer.say("ninh kieu")
    assert "Không có xã, phường “ninh kieu” trong phạm vi" in officer.text
    await officer.press_data(f"hz:{NINH_KIEU}")
    assert "nằm ngoài phạm vi" in officer.text
    assert not await app.services.members.registered_by("telegram:3200")


async def test_a_branch_hears_of_its_own_areas_questions_only(app, clock):
    officer = await resident(app, "3200", "hoa an", "xã Hòa An", name="Cán bộ chi hội")
    await grant(app, officer, "officer", HOA_AN)
    city = await staff(app, "3004", "editor", name="Biên tập TP")
    far = await resident(app, "5001", "ninh kieu", "phường Ninh Kiều")
    near = await resident(app, "5002", "hoa an", "xã Hòa An")
    await app.services.inbox.ask(await far.user(), "Câu hỏi ở Ninh Kiều")
    await app.services.inbox.ask(await near.user(), "Câu hỏi ở Hòa An")
    clock.advance(hours=3)  # out of the quiet hours
    assert await app.services.inbox.notify_staff() == 2
    digests = await app.store.announcements.listing(["scheduled"])
    [to_city] = [d for d in digests if d.audience.staff_only]
    [to_branch] = [d for d in digests if d.audience.user_ids == ((await officer.user()).id,)]
    assert "Ninh Kiều" in to_city.text and "Hòa An" in to_city.text
    assert "Ninh Kiều" not in to_branch.text and "Câu hỏi ở Hòa An" in to_branch.text
    # The city digest reaches the city's staff, not the branch's officer.
    assert await app.services.outreach.audience_size(to_city.audience) == 1
    assert city


async def test_progress_of_a_branch_shows_each_of_its_areas_with_enough_answers(app):
    officer = await resident(app, "3200", "hoa an", "xã Hòa An", name="Cán bộ chi hội")
    await grant(app, officer, "officer", HOA_AN, CAI_KHE)
    family = app.catalog.definition("gia-dinh-hoc-tap")
    for member in await seed(app, 5, start=300, area_code=CAI_KHE, role="ho-gia-dinh"):
        run = await app.services.assessments.start(member, family)
        for index in range(len(family.questions)):
            run, _ = await app.services.assessments.answer(run, family, index, 0)
    for member in await seed(app, 4, start=400, area_code=NINH_KIEU, role="ho-gia-dinh"):
        run = await app.services.assessments.start(member, family)
        for index in range(len(family.questions)):
            run, _ = await app.services.assessments.answer(run, family, index, 0)
    await officer.command("/progress")
    assert "phường Cái Khế" in officer.text  # five answers: shown
    assert "phường Ninh Kiều" not in officer.text  # not theirs (and under five)
    member = await resident(app, "5003", "cai khe", "phường Cái Khế")
    await member.command("/progress")
    assert "phường Cái Khế" in member.text  # a member sees their own area, as before


async def test_an_officer_deletes_the_data_of_someone_they_registered_when_asked(app):
    officer = await resident(app, "3200", "hoa an", "xã Hòa An", name="Cán bộ chi hội")
    await grant(app, officer, "officer", HOA_AN)
    person = await app.services.members.register_assisted(
        "Bà Mười", "ho-gia-dinh", HOA_AN, "vi", "telegram:3200"
    )
    await app.services.staff.audit(
        "telegram:3200", "assisted_register", member=f"assisted:{person.external_id}"
    )
    await officer.press_data(f"hs:{person.id}")
    await officer.press("Xóa dữ liệu người này")
    assert "Chỉ làm khi người đó yêu cầu." in officer.text
    await officer.press("Xóa hết")
    assert "Đã xóa thông tin của người đó." in officer.text
    assert await app.store.users.get(person.id) is None
    trail = await app.services.staff.audit_trail()
    assert [e.action for e in trail] == ["assisted_forget", "assisted_register", "grant"]
    assert person.external_id not in str([e.detail for e in trail])
