"""A member who types a command in a group: nothing the bot keeps of them is shown there, and the
group never becomes where the bot reaches them (issue 16, item 2)."""

from __future__ import annotations

from handlers import build_root_router
from tests.handlers.test_conversations import onboard
from tests.helpers import Member

COMMANDS = sorted(build_root_router().commands)
QUESTION = "Xe đưa đón học sinh điểm trường Rạch Gòi có chạy thứ bảy không?"
PRIVATE_ONLY = "Anh/Chị nhắn riêng cho Hội để xem."


async def member_with_data(app) -> Member:
    """Onboarded in their private chat, with an area, a question to staff and a finished
    self-assessment: everything a group must not see."""
    member = Member(app, user_id="2024", name="Quỳnh Zy")
    await onboard(member)
    await member.say(QUESTION)
    await member.press("Hỏi cán bộ Hội")
    return member


def personal_bits(member: Member) -> list[str]:
    """What of the member's data shows in the last answer."""
    seen = member.text + " " + " ".join(member.labels())
    bits = ["Quỳnh Zy", "Rạch Gòi", "Ninh Kiều", "Hộ gia đình", "28/09/2026"]
    return [bit for bit in bits if bit in seen]


async def test_every_command_in_a_group_shows_nothing_personal(app):
    member = await member_with_data(app)
    member.in_group()
    for command in COMMANDS:
        await member.command(f"/{command}")
        assert member.replies, f"/{command} gets an answer"
        assert personal_bits(member) == [], f"/{command}"
        for label in member.labels():  # and whatever its buttons open there
            await member.command(f"/{command}")
            await member.press(label)
            assert personal_bits(member) == [], f"/{command} → {label}"
    assert (await member.user()).chat_id == "2024"


async def test_commands_showing_personal_data_say_to_write_privately(app):
    member = await member_with_data(app)
    member.in_group()
    for command in ("mydata", "myquestions", "settings", "forget", "stop", "start"):
        await member.command(f"/{command}")
        assert member.text == PRIVATE_ONLY, f"/{command}"
    await member.command("/start mydata")  # a deep link typed in the group
    assert member.text == PRIVATE_ONLY
    for data in ("forget:yes", "set", "setx:area", "qm", "consent:1"):
        await member.press_data(data)
        assert member.text == PRIVATE_ONLY, data
    assert (await member.user()) is not None  # /forget's button did nothing in the group
    member.in_private()
    await member.command("/mydata")
    assert "Quỳnh Zy" in member.text and "phường Ninh Kiều" in member.text


async def test_a_command_in_a_group_keeps_the_private_chat_for_answers_and_announcements(app):
    """Deliveries (a staff answer, a broadcast) go to the chat stored for the member."""
    member = await member_with_data(app)
    for command in ("/help", "/menu", "/plans"):
        await member.in_group("-100888").command(command)
        assert (await member.user()).chat_id == "2024"
    await member.in_private().command("/menu")
    assert (await member.user()).chat_id == "2024"


async def test_someone_new_in_a_group_is_not_asked_to_agree_there(app):
    stranger = Member(app, user_id="5555", name="Khách Lạ").in_group()
    await stranger.command("/start")
    assert stranger.text == PRIVATE_ONLY
    await stranger.command("/assess")
    await stranger.press("Gia đình học tập")
    await stranger.press("Bắt đầu")
    assert stranger.text == PRIVATE_ONLY
    assert await stranger.user() is None


async def test_staff_commands_in_a_group_answer_only_in_private(app):
    """A staff page holds members' names, questions and figures; a group may hold anyone."""
    member = await member_with_data(app)
    root = build_root_router()
    staff_commands = sorted(root.command_roles)
    assert {"inbox", "stats", "export", "announce", "admins"} <= set(staff_commands)
    admin = Member(app, user_id="999", name="Cán bộ").in_group()
    for command in staff_commands:
        await admin.command(f"/{command}")
        assert admin.text == PRIVATE_ONLY, f"/{command}"
    admin.in_private()
    await admin.command("/inbox")
    assert "Rạch Gòi" in admin.text  # the same page, privately, shows the question
    assert (await member.user()).chat_id == "2024"
