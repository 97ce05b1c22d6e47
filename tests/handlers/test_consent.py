"""Nothing of a person is kept before they agree to the privacy notice, whichever way they come in:
a command, a deep link from a QR poster, free text, a photo, a button (stale, forged or real), a
typed number. After /forget, looking at what is kept keeps nothing either."""

from __future__ import annotations

import pytest

from bot.store.users import PERSONAL_TABLES
from handlers import build_root_router
from tests.handlers.test_conversations import onboard
from tests.helpers import Member

ROOT = build_root_router()
COMMANDS = sorted(ROOT.commands)
DEEP_LINKS = ["plans", "assess", "assess-gia-dinh-hoc-tap", "plan-qd-387-2022", "mydata", "x:y"]
BUTTONS = [
    "as:gia-dinh-hoc-tap",  # start a self-assessment
    "consent:0",  # decline
    "role:ho-gia-dinh:o",  # a profile step, forged
    "area:31135:o",
    "xs:1",  # a staff button
    "nonsense",
]


async def stored_rows(app) -> dict[str, int]:
    counts = {}
    for table in ["users", *PERSONAL_TABLES]:
        row = await app.store.db.fetchone(f"SELECT count(*) FROM {table}")
        counts[table] = row[0]
    return {table: n for table, n in counts.items() if n}


def test_every_command_is_walked():
    assert {"start", "assess", "plans", "mydata", "forget", "stop", "settings"} <= set(COMMANDS)


@pytest.mark.parametrize(
    "way_in",
    [f"/{c}" for c in COMMANDS]
    + [f"/start {p}" for p in DEEP_LINKS]
    + [f"press {b}" for b in BUTTONS]
    + ["say Làm sao để gia đình tôi được công nhận Gia đình học tập?", "say 1", "photo"],
)
async def test_no_personal_row_before_consent(app, way_in):
    stranger = Member(app, user_id="5555", name="Khách Lạ")
    kind, _, rest = way_in.partition(" ")
    if kind.startswith("/"):
        await stranger.command(way_in)
    elif kind == "press":
        await stranger.press_data(rest)
    elif kind == "say":
        await stranger.say(rest)
    else:
        await stranger.send_media("photo")
    assert stranger.replies, "every way in gets an answer"
    assert await stored_rows(app) == {}


async def test_a_stranger_pressing_a_real_start_button_is_asked_to_agree_first(app):
    stranger = Member(app, user_id="5555")
    await stranger.command("/assess")
    await stranger.press("Gia đình học tập")
    await stranger.press("Bắt đầu")
    assert "Đồng ý" in stranger.labels()
    assert await stored_rows(app) == {}
    await stranger.press("Đồng ý")
    assert (await stranger.user()).consented
    await stranger.press("Tiếng Việt")
    await stranger.press("Bỏ qua")  # no role
    await stranger.press("Bỏ qua")  # no area
    assert "Gia đình học tập" in stranger.text and "Bắt đầu" in stranger.labels()


async def test_after_forget_looking_keeps_nothing(app):
    member = Member(app)
    await onboard(member)
    await member.command("/forget")
    await member.press("Xóa hết")
    assert await stored_rows(app) == {}
    for look in ("/mydata", "/settings", "/help", "/start"):
        await member.command(look)
    assert await stored_rows(app) == {}
