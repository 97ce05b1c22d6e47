"""Branches: staff roles scoped to wards/communes, everything staff see and do limited to the
scope, approval of large branch broadcasts, the audit log, and officers' helper mode."""

from __future__ import annotations

from bot.services.staff import Scope
from tests.handlers.test_admin import SUPER_ID, staff
from tests.helpers import Member

NINH_KIEU, HOA_AN, CAI_KHE = "31135", "31393", "31120"


async def grant(app, member: Member, role: str, *areas: str) -> None:
    user = await member.user()
    await app.services.staff.grant(user, role, "test", areas)


async def resident(app, user_id: str, area_query: str, area_label: str, name="Hội viên") -> Member:
    member = Member(app, user_id=user_id, name=name)
    await member.command("/start")
    await member.press("Đồng ý")
    await member.press("Tiếng Việt")
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
