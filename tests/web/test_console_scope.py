"""Branch scopes in the staff console, over HTTP: an area editor and an area officer see only
their areas and are refused (audited, nothing changed) when they post another ward's ids or
areas; a city admin still sees everything; a branch broadcast over APPROVAL_THRESHOLD waits for
a city admin's "Duyệt" / "Trả lại" in the console, exactly as in the chat."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.records import AudienceFilter
from bot.web.console.site import COOKIE
from tests.handlers.test_admin import SUPER_ID, staff
from tests.handlers.test_branches import CAI_KHE, HOA_AN, NINH_KIEU, grant, resident
from tests.outreach.conftest import seed
from tests.test_reports import complete
from tests.web.conftest import csrf_of, signed_in

REFUSED = "Việc này nằm ngoài phạm vi (xã, phường) được giao cho Anh/Chị."


class Desk:
    """One signed-in staff member's browser: GET and POST with their cookie and CSRF token."""

    def __init__(self, client, cookie: str) -> None:
        self.client = client
        self.cookies = {COOKIE: cookie}
        self.csrf = ""

    async def get(self, path: str, expect: int = 200) -> str:
        """The page (asserting its status)."""
        answer = await self.client.get(path, cookies=self.cookies, allow_redirects=False)
        text = await answer.text()
        assert answer.status == expect, (path, answer.status, text[-300:])
        if 'name="csrf"' in text:
            self.csrf = csrf_of(text)
        return text

    async def post(self, path: str, expect: int = 303, **data: str) -> str:
        """Where a form sends the browser next; for a refused one, the page saying why."""
        if not self.csrf:
            await self.get("/console/questions")
        answer = await self.client.post(
            path, data={"csrf": self.csrf, **data}, cookies=self.cookies, allow_redirects=False
        )
        text = await answer.text()
        assert answer.status == expect, (path, answer.status, text[-300:])
        return answer.headers["Location"] if expect == 303 else text


async def desk(client, member) -> Desk:
    cookie = await signed_in(client, member)
    client.session.cookie_jar.clear()  # each request says whose session it is
    return Desk(client, cookie)


async def wards(app):
    """A super admin, a city admin, an editor and an officer of Hòa An, members in Hòa An and
    Ninh Kiều with a question each, an announcement and a custom event for each ward."""
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    city = await staff(app, "3004", "admin", name="Quản trị TP")
    editor = await resident(app, "3100", "hoa an", "xã Hòa An", name="Biên tập Hòa An")
    await grant(app, editor, "editor", HOA_AN)
    officer = await resident(app, "3101", "hoa an", "xã Hòa An", name="Cán bộ Hòa An")
    await grant(app, officer, "officer", HOA_AN)
    [hoa_an] = await seed(app, 1, start=7000, area_code=HOA_AN)
    [ninh_kieu] = await seed(app, 1, start=8000, area_code=NINH_KIEU)
    inbox, outreach, calendar = app.services.inbox, app.outreach, app.services.calendar
    later = app.services.clock() + timedelta(days=3)
    day = f"{app.services.reminders.today() + timedelta(days=5):%Y-%m-%d}"
    return {
        "boss": boss,
        "city": city,
        "editor": editor,
        "officer": officer,
        "hoa_an": hoa_an,
        "ninh_kieu": ninh_kieu,
        "ticket_ha": await inbox.ask(hoa_an, "Hỏi từ Hòa An"),
        "ticket_nk": await inbox.ask(ninh_kieu, "Hỏi từ Ninh Kiều"),
        "news_ha": await outreach.announce(
            "cli", "Tin Hòa An", AudienceFilter(areas=(HOA_AN,)), at=later
        ),
        "news_nk": await outreach.announce(
            "cli", "Tin Ninh Kiều", AudienceFilter(areas=(NINH_KIEU,)), at=later
        ),
        "draft_nk": await _draft(outreach, "Nháp Ninh Kiều", NINH_KIEU),
        "event_nk": await calendar.add_event(
            "Họp Ninh Kiều", day, "telegram:3004", areas=(NINH_KIEU,)
        ),
        "event_city": await calendar.add_event("Họp toàn thành phố", day, "telegram:3004"),
        "day": day,
    }


async def _draft(outreach, text: str, area: str):
    draft = await outreach.draft("cli", text)
    return await outreach.set_audience(draft.id, AudienceFilter(areas=(area,)))


async def refusals(app, actor: str) -> list:
    return [
        e for e in await app.services.staff.audit_trail(200, who=actor) if e.action == "refused"
    ]


async def test_an_area_editor_sees_only_their_ward_and_forged_ids_change_nothing(
    console_app, client
):
    app = console_app
    w = await wards(app)
    me = await desk(client, w["editor"])

    page = await me.get("/console")
    assert "📍 Số liệu của xã Hòa An" in page
    assert len(re.findall(r"<tr data-name=", page)) == 1 and "Hòa An" in page
    assert "Ninh Kiều" not in page
    assert "biên tập viên · Hòa An" in page

    page = await me.get("/console/announcements")
    assert f"#{w['news_ha'].id}<" in page
    assert f"#{w['news_nk'].id}<" not in page and f"#{w['draft_nk'].id}<" not in page

    page = await me.get("/console/questions")
    assert "Hỏi từ Hòa An" in page and "Hỏi từ Ninh Kiều" not in page

    page = await me.get("/console/events")
    assert "Họp toàn thành phố" in page and "Họp Ninh Kiều" not in page
    assert "/cancel" not in page  # neither is a Hòa An event: a branch cancels only its own

    # Compose: only Hòa An is offered; nothing chosen = all of the scope, said as in the chat.
    page = await me.get("/console/announcements/new")
    assert f'value="{HOA_AN}"' in page and f'value="{NINH_KIEU}"' not in page
    assert "Trong phạm vi: xã Hòa An, 3 người." in page

    # Every forged id or area of Ninh Kiều: refused, audited, nothing changed.
    before = {a.id for a in await app.store.announcements.listing(["draft", "scheduled"], 100)}
    forged_gets = [
        f"/console/announcements/{w['news_nk'].id}",
        f"/console/questions/{w['ticket_nk'].id}",
        f"/console/announcements/audience?area={NINH_KIEU}",
    ]
    for path in forged_gets:
        page = await me.get(path, expect=403)
        assert REFUSED in page, path
        assert "Tin Ninh Kiều" not in page and "Hỏi từ Ninh Kiều" not in page
    forged_posts = [
        (f"/console/announcements/{w['news_nk'].id}/cancel", {}),
        (f"/console/announcements/{w['draft_nk'].id}/send", {}),
        (f"/console/announcements/{w['news_nk'].id}/resend", {}),
        ("/console/announcements/new", {"text": "Tin giả", "area": NINH_KIEU}),
        (f"/console/questions/{w['ticket_nk'].id}/answer", {"answer": "Trả lời giả"}),
        (f"/console/questions/{w['ticket_nk'].id}/close", {}),
        (f"/console/events/{w['event_nk']}/cancel", {}),
        (f"/console/events/{w['event_city']}/cancel", {}),
    ]
    for path, data in forged_posts:
        assert REFUSED in await me.post(path, expect=403, **data), path
    # Below the role or the scope's rules: refused as any page the role does not open.
    for path, data in [
        (f"/console/questions/{w['ticket_ha'].id}/assign", {"to": "1"}),  # only city staff
        (f"/console/announcements/{w['news_ha'].id}/approve", {}),
        ("/console/audit", None),
    ]:
        if data is None:
            await me.get(path, expect=403)
        else:
            await me.post(path, expect=403, **data)

    assert (await app.outreach.get(w["news_nk"].id)).status == "scheduled"
    assert (await app.outreach.get(w["draft_nk"].id)).status == "draft"
    after = {a.id for a in await app.store.announcements.listing(["draft", "scheduled"], 100)}
    assert after == before  # no announcement written, no answer sent
    ticket = await app.services.inbox.get(w["ticket_nk"].id)
    assert (ticket.status, ticket.answer, ticket.assigned_to) == ("open", None, None)
    assert app.services.reminders.event(w["event_nk"]) is not None
    assert app.services.reminders.event(w["event_city"]) is not None
    refused = await refusals(app, "telegram:3100")
    assert len(refused) == len(forged_gets) + len(forged_posts) + 2
    assert all(e.scope == (HOA_AN,) for e in refused)
    assert {e.detail["what"] for e in refused} >= {
        f"console POST /console/questions/{w['ticket_nk'].id}/answer",
        f"console GET /console/announcements/{w['news_nk'].id}",
    }

    # Within the ward it works: an event of Hòa An (its own), an announcement cut to Hòa An.
    where = await me.post("/console/events", title="Họp chi hội", day=w["day"])
    assert where == "/console/events?notice=event_added"
    [own] = [e for e in app.services.reminders.events() if e.custom and e.areas == (HOA_AN,)]
    page = await me.get("/console/events")
    assert "Họp chi hội" in page and f"/console/events/{own.id}/cancel" in page
    where = await me.post("/console/announcements/new", text="Họp chi hội xã")
    sent = await app.outreach.get(int(re.search(r"/(\d+)", where).group(1)))
    assert (sent.status, sent.audience.areas, sent.approval) == ("scheduled", (HOA_AN,), None)


async def test_a_branchs_figures_are_its_own_and_groups_under_five_stay_hidden(console_app, client):
    app = console_app
    await staff(app, SUPER_ID, None)
    city = await staff(app, "3004", "admin", name="Quản trị TP")
    editor = await resident(app, "3100", "cai khe", "phường Cái Khế", name="Biên tập Cái Khế")
    await grant(app, editor, "editor", CAI_KHE)
    day = app.services.clock() - timedelta(days=3)
    for index, member in enumerate(await seed(app, 8, start=100, area_code=NINH_KIEU)):
        await complete(app, member, "gia-dinh-hoc-tap", index < 7, day)  # 7 of 8: 87,5 %
    for member in await seed(app, 3, start=200, area_code=CAI_KHE):
        await complete(app, member, "gia-dinh-hoc-tap", True, day)  # 3 answers: hidden

    page = await (await desk(client, editor)).get("/console")
    assert "📍 Số liệu của phường Cái Khế" in page
    # Cái Khế's three and the editor: four members, itself a group under five.
    assert "&lt;5 hội viên đồng ý lưu thông tin" in page
    [row] = re.findall(r'<tr data-name="[^"]*">.*?</tr>', page)
    assert "Cái Khế" in row and '<td class="num few" data-value="-1">&lt;5</td>' in row
    family = re.search(r'<tr data-title="gia-dinh-hoc-tap">.*?</tr>', page).group(0)
    assert "chưa đủ 5 người" in family and "87" not in page
    assert "Ninh Kiều" not in page

    page = await (await desk(client, city)).get("/console")
    assert "Số liệu của" not in page
    ninh_kieu = re.search(r'<tr data-name="ninh kieu">.*?</tr>', page).group(0)
    assert "87,5" in ninh_kieu


async def test_an_area_officer_reaches_only_their_wards_questions(console_app, client):
    app = console_app
    w = await wards(app)
    me = await desk(client, w["officer"])

    await me.get(
        "/console", expect=303
    )  # no figures for an officer, as in the chat: to the questions
    page = await me.get("/console/questions")
    assert "Hỏi từ Hòa An" in page and "Hỏi từ Ninh Kiều" not in page
    assert "cán bộ chi hội · Hòa An" in page
    assert "/console/announcements" not in page and "/console/events" not in page
    for path in ("/console/announcements", "/console/announcements/new", "/console/events"):
        await me.get(path, expect=403)

    page = await me.get(f"/console/questions/{w['ticket_ha'].id}")
    assert "/assign" not in page
    where = await me.post(
        f"/console/questions/{w['ticket_ha'].id}/answer", answer="Chi hội trả lời"
    )
    assert where.endswith("notice=answered")
    answered = await app.services.inbox.get(w["ticket_ha"].id)
    assert (answered.status, answered.answer) == ("answered", "Chi hội trả lời")
    to_member = await app.store.announcements.listing(["scheduled"], 100)
    assert any(a.audience.user_ids == (w["hoa_an"].id,) for a in to_member)

    for path, data in [
        (f"/console/questions/{w['ticket_nk'].id}/answer", {"answer": "Giả"}),
        (f"/console/questions/{w['ticket_nk'].id}/close", {}),
        (f"/console/questions/{w['ticket_ha'].id}/faq", {}),  # editors and above
        (f"/console/announcements/{w['news_ha'].id}/cancel", {}),
        ("/console/announcements/new", {"text": "Tin"}),
        ("/console/events", {"title": "Họp", "day": w["day"]}),
    ]:
        await me.post(path, expect=403, **data)
    assert (await app.services.inbox.get(w["ticket_nk"].id)).status == "open"
    assert (await app.outreach.get(w["news_ha"].id)).status == "scheduled"
    assert [e.action for e in await app.services.staff.audit_trail(who="telegram:3101")].count(
        "refused"
    ) == 6


async def test_a_city_admin_still_sees_everything_and_hands_questions_to_a_branch(
    console_app, client
):
    app = console_app
    w = await wards(app)
    me = await desk(client, w["city"])

    page = await me.get("/console")
    assert len(re.findall(r"<tr data-name=", page)) == len(app.catalog.areas.all)
    assert "Số liệu của" not in page
    page = await me.get("/console/announcements")
    assert f"#{w['news_ha'].id}<" in page and f"#{w['news_nk'].id}<" in page
    page = await me.get("/console/questions")
    assert "Hỏi từ Hòa An" in page and "Hỏi từ Ninh Kiều" in page
    page = await me.get("/console/events")
    assert "Họp Ninh Kiều" in page and page.count("/cancel") == 2

    # Assign: Hòa An's question to Hòa An's officer; nobody of Hòa An takes Ninh Kiều's.
    officer = await w["officer"].user()
    page = await me.get(f"/console/questions/{w['ticket_nk'].id}")
    assert "Cán bộ Hòa An" not in page
    where = await me.post(f"/console/questions/{w['ticket_nk'].id}/assign", to=str(officer.id))
    assert where.endswith("notice=not_open")
    assert (await app.services.inbox.get(w["ticket_nk"].id)).assigned_to is None
    page = await me.get(f"/console/questions/{w['ticket_ha'].id}")
    assert "Cán bộ Hòa An" in page
    where = await me.post(f"/console/questions/{w['ticket_ha'].id}/assign", to=str(officer.id))
    assert where.endswith("notice=assigned")
    assert (await app.services.inbox.get(w["ticket_ha"].id)).assigned_to == "telegram:3101"

    where = await me.post(f"/console/events/{w['event_nk']}/cancel")
    assert where.endswith("notice=event_cancelled")
    await me.get("/console/audit", expect=403)  # super admins only

    # A city editor, as in the chat: drafts, adds no event (that is a city admin's).
    city_editor = await desk(client, await staff(app, "3005", "editor", name="Biên tập TP"))
    assert 'id="new-event"' not in await city_editor.get("/console/events")
    events = len(app.services.reminders.events())
    await city_editor.post("/console/events", expect=403, title="Họp", day=w["day"])
    assert len(app.services.reminders.events()) == events


async def test_a_large_branch_broadcast_waits_for_a_city_admins_approval_in_the_console(
    console_app, client
):
    app = console_app
    boss = await staff(app, SUPER_ID, None, name="Chủ tịch")
    city = await staff(app, "3004", "admin", name="Quản trị TP")
    editor = await resident(app, "3100", "hoa an", "xã Hòa An", name="Biên tập Hòa An")
    await grant(app, editor, "editor", HOA_AN)
    branch_admin = await resident(app, "3101", "hoa an", "xã Hòa An", name="Chi hội trưởng")
    await grant(app, branch_admin, "admin", HOA_AN)
    await seed(app, 199, start=10_000, area_code=HOA_AN)  # 201 members with the two staff
    author = await desk(client, editor)

    page = await author.get("/console/announcements/new")
    assert "Trong phạm vi: xã Hòa An, 201 người." in page
    assert "hơn 200 người sẽ chờ quản trị viên thành phố duyệt" in page
    where = await author.post("/console/announcements/new", text="Họp toàn xã")
    assert where.endswith("notice=approval_asked")
    waiting = await app.outreach.get(int(re.search(r"/(\d+)", where).group(1)))
    assert (waiting.status, waiting.approval, waiting.audience.areas) == (
        "draft",
        "waiting",
        (HOA_AN,),
    )
    told = await app.store.announcements.listing(["scheduled"], 100)
    assert sorted(a.audience.user_ids for a in told) == sorted(
        [((await boss.user()).id,), ((await city.user()).id,)]
    )
    assert all("201 người" in a.text and "Họp toàn xã" in a.text for a in told)
    page = await author.get(f"/console/announcements/{waiting.id}")
    assert "Đang chờ Hội (quản trị viên thành phố) duyệt" in page
    assert f"/console/announcements/{waiting.id}/send" not in page  # decided by Duyệt only
    where = await author.post(f"/console/announcements/{waiting.id}/send")
    assert where.endswith("notice=not_waiting")

    # A branch's admin does not approve, whatever the path.
    branch = await desk(client, branch_admin)
    await branch.get("/console/approvals", expect=403)
    for what in ("approve", "return"):
        await branch.post(f"/console/announcements/{waiting.id}/{what}", expect=403, reason="x")
    assert (await app.outreach.get(waiting.id)).approval == "waiting"

    approver = await desk(client, city)
    page = await approver.get("/console/approvals")
    assert f"#{waiting.id}<" in page and "201" in page and "ngay khi được duyệt" in page
    page = await approver.get(f"/console/announcements/{waiting.id}")
    assert 'id="approve"' in page
    where = await approver.post(f"/console/announcements/{waiting.id}/return")
    assert where.endswith("notice=no_reason")  # a reason is needed
    where = await approver.post(f"/console/announcements/{waiting.id}/approve")
    assert where.endswith("notice=approved")
    approved = await app.outreach.get(waiting.id)
    assert (approved.status, approved.approval, approved.approval_by) == (
        "scheduled",
        "approved",
        "telegram:3004",
    )
    assert approved.report_chat == "3100"  # the author follows its progress
    to_author = [
        a
        for a in await app.store.announcements.listing(["scheduled"], 100)
        if a.audience.user_ids == ((await editor.user()).id,)
    ]
    assert [a.text for a in to_author] == [
        f"✅ Thông báo #{waiting.id} của Anh/Chị đã được duyệt và sẽ được gửi."
    ]
    # Nothing twice: a second press, or a return after, changes nothing.
    where = await approver.post(f"/console/announcements/{waiting.id}/approve")
    assert where.endswith("notice=not_waiting")
    where = await approver.post(f"/console/announcements/{waiting.id}/return", reason="Muộn")
    assert where.endswith("notice=not_waiting")
    actions = [e.action for e in await app.services.staff.audit_trail(200)]
    assert actions.count("approve") == 1 and actions.count("return") == 0

    # Trả lại with a reason: the author is told it and sees it on the page.
    where = await author.post("/console/announcements/new", text="Họp lần hai", at=_tomorrow(app))
    second = await app.outreach.get(int(re.search(r"/(\d+)", where).group(1)))
    assert second.approval == "waiting" and second.wanted_at is not None
    where = await approver.post(
        f"/console/announcements/{second.id}/return", reason="Ghi rõ giờ họp"
    )
    assert where.endswith("notice=returned")
    returned = await app.outreach.get(second.id)
    assert (returned.status, returned.approval, returned.approval_note) == (
        "draft",
        "returned",
        "Ghi rõ giờ họp",
    )
    page = await author.get(f"/console/announcements/{second.id}")
    assert "Đã bị trả lại: Ghi rõ giờ họp" in page
    told_back = [
        a.text
        for a in await app.store.announcements.listing(["scheduled"], 100)
        if a.audience.user_ids == ((await editor.user()).id,)
    ]
    assert any("Ghi rõ giờ họp" in text for text in told_back)


def _tomorrow(app) -> str:
    local = (app.services.clock() + timedelta(days=1)).astimezone(app.settings.timezone)
    return f"{local:%Y-%m-%dT%H:%M}"


async def test_the_staff_command_menu_shows_console_approvals_audit_helper_by_role(app):
    dispatcher = app.dispatcher
    staff_commands = {"console", "helper", "approvals", "audit"}
    shown = {
        role: {name for name, _ in dispatcher.command_menu("vi", role)} & staff_commands
        for role in (None, "officer", "editor", "admin", "super")
    }
    assert shown == {
        None: set(),
        "officer": {"console", "helper"},
        "editor": {"console", "helper"},
        "admin": {"console", "helper", "approvals"},
        "super": staff_commands,
    }
    english = dict(dispatcher.command_menu("en", "super"))
    assert english["approvals"] == "Approve branches' announcements (city admins)"
    assert dict(dispatcher.command_menu("vi", "super"))["audit"].startswith("Nhật ký")
