import pytest

from bot.core.messages import Kind
from bot.core.router import Router


def test_duplicate_registration_is_refused():
    a, b = Router("a"), Router("b")

    @a.command("plans")
    async def one(ctx): ...

    @b.command("plans")
    async def two(ctx): ...

    with pytest.raises(ValueError, match="registered twice"):
        Router("root").include(a).include(b)


def test_sections_are_ordered_and_admin_sections_hidden():
    r = Router("r")

    @r.section("b", "menu.b", order=20)
    async def b(ctx): ...

    @r.section("a", "menu.a", order=10)
    async def a(ctx): ...

    @r.section("z", "menu.z", order=5, role="admin")
    async def z(ctx): ...

    assert [s.key for s in r.menu_sections(None)] == ["a", "b"]
    assert [s.key for s in r.menu_sections("editor")] == ["a", "b"]
    assert [s.key for s in r.menu_sections("admin")] == ["z", "a", "b"]
    assert [s.key for s in r.menu_sections("super")] == ["z", "a", "b"]
    assert r.command_roles == {"z": "admin"} and "b" in r.commands


def test_dispatcher_requires_fallbacks(app):
    from bot.core.router import Dispatcher

    with pytest.raises(ValueError, match="fallbacks"):
        Dispatcher(Router("empty"), app.services)


async def test_admin_command_refused_to_members(app):
    from tests.helpers import Member

    root = app.dispatcher.root
    calls = []

    async def secret(ctx):
        calls.append(ctx.user.external_id)
        ctx.reply("secret")

    root.commands["secret"] = secret
    root.command_roles["secret"] = "admin"
    member = Member(app, user_id="1001")
    await member.command("/secret")
    assert calls == [] and "Hội chưa có lệnh /secret." in member.text
    admin = Member(app, user_id="999")
    await admin.command("/secret")
    assert calls == ["999"]
    refused = await app.store.staff.audit_trail()
    assert [(r.actor, r.action) for r in refused] == [("telegram:1001", "refused")]


@pytest.mark.parametrize("typed", ["²", "--5", "3"])
async def test_odd_numbers_typed_for_a_choice_get_an_answer_not_an_error(app, typed):
    from bot.core.messages import Inbound, Kind
    from tests.helpers import Member

    member = Member(app, channel="console")
    await member.command("/start")
    shown = Inbound("console", member.user_id, Kind.TEXT, chat_id=member.user_id)
    await app.dispatcher.remember_choices(shown, [["Đồng ý", "consent:1"], ["Không", "consent:0"]])
    await member.say(typed)
    assert member.replies and "trục trặc" not in member.text
    await member.say("1")  # the choices still work after it
    assert "Tiếng Việt" in member.labels()


async def test_a_number_outside_the_choices_shows_them_again(app):
    from bot.core.messages import Inbound
    from tests.helpers import Member

    member = Member(app, channel="console")
    await member.command("/start")
    shown = Inbound("console", member.user_id, Kind.TEXT, chat_id=member.user_id)
    await app.dispatcher.remember_choices(shown, [["Đồng ý", "consent:1"], ["Không", "consent:0"]])
    await member.say("3")
    assert "Anh/Chị chọn từ 1 đến 2" in member.text
    assert member.labels() == ["Đồng ý", "Không"]
    assert "Hỏi cán bộ Hội" not in member.labels()  # not taken for a question to staff
    await member.say("1")
    assert "Tiếng Việt" in member.labels()


async def test_a_bare_number_without_numbered_choices_is_not_a_question_for_staff(app):
    from tests.handlers.test_conversations import onboard
    from tests.helpers import Member

    member = Member(app)  # Telegram: buttons, no numbered choices remembered
    await onboard(member)
    await member.say("3")
    assert "Hỏi cán bộ Hội" not in member.labels() and "Xem kế hoạch" in member.labels()
