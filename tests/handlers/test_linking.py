"""One member across channels: /link codes, one person after linking, unlinking, /forget."""

from __future__ import annotations

import re

from bot.records import AudienceFilter
from bot.services.linking import CODES_PER_HOUR, TRIES_PER_ACCOUNT, Linked, Refusal
from tests.helpers import Member


async def onboard(member: Member, role: str = "Hộ gia đình") -> None:
    await member.command("/start")
    await member.press("Tiếng Việt")
    await member.press("Đồng ý")
    await member.press(role)
    await member.press("Bỏ qua")


async def take_code(member: Member) -> str:
    await member.command("/link")
    found = re.search(r"Mã liên kết của Anh/Chị: (\d{4} \d{4})", member.text)
    assert found, member.text
    return found[1]


async def test_linking_makes_two_accounts_one_person(app):
    on_telegram = Member(app, "1001", channel="telegram")
    await onboard(on_telegram)
    await on_telegram.command("/assess")
    code = await take_code(on_telegram)
    assert "dùng được một lần, trong 10 phút" in on_telegram.text

    on_zalo = Member(app, "6ede0000000000000001", channel="zalobot")
    await on_zalo.command(f"/link {code}")  # before any consent there: the person's holds
    assert "Đã liên kết" in on_zalo.text
    assert "Tài khoản đã liên kết: Zalo Bot, Telegram." in on_zalo.text

    rows = await app.store.db.fetchall("SELECT id, channel, consent_at, role FROM users")
    assert len(rows) == 1 and rows[0]["channel"] == "zalobot"  # the account last used
    assert rows[0]["consent_at"] is not None and rows[0]["role"] == "ho-gia-dinh"
    members, _ = await app.store.reports.members(app.services.clock())
    assert members == 1  # figures count people, not accounts

    await on_zalo.command("/mydata")
    assert "Tài khoản đã liên kết: Telegram" in on_zalo.text and "Kênh: Zalo Bot" in on_zalo.text
    await on_telegram.command("/mydata")  # writing from Telegram again: still the same person
    assert "Tài khoản đã liên kết: Zalo Bot" in on_telegram.text
    assert (await app.store.db.fetchone("SELECT count(*) FROM users"))[0] == 1

    await on_zalo.command(f"/link {code}")  # a code works once
    assert "không đúng hoặc đã hết hạn" in on_zalo.text


async def test_an_account_with_data_of_its_own_is_merged_into_the_person(app):
    lan = Member(app, "1001", channel="telegram")
    await onboard(lan)
    lan_zalo = Member(app, "6ede0000000000000002", channel="zalobot")
    await onboard(lan_zalo, role="Người dân")
    await lan_zalo.command("/assess")
    await lan_zalo.press("Công dân học tập")
    await lan_zalo.press("Bắt đầu")
    zalo_user = await lan_zalo.user()
    code = await take_code(lan)
    await lan_zalo.command(f"/link {code}")
    person = await app.store.users.find("zalobot", lan_zalo.user_id)
    assert person.role == "ho-gia-dinh"  # the person who took the code keeps their profile
    assert await app.store.users.get(zalo_user.id) is None
    runs = await app.store.assessments.in_progress(person.id)
    assert [r.definition_id for r in runs] == ["cong-dan-hoc-tap"]  # the run came along


async def test_preferred_channel_unlink_and_forget_everywhere(app):
    lan = Member(app, "1001", channel="telegram")
    await onboard(lan)
    code = await take_code(lan)
    lan_zalo = Member(app, "6ede0000000000000003", channel="zalobot")
    await lan_zalo.command(f"/link {code}")
    await lan_zalo.press("Nhận tin qua Telegram")
    assert "Hội gửi thông báo qua: Telegram." in lan_zalo.text
    assert (await lan_zalo.user()).preferred_channel == "telegram"
    await lan_zalo.press("Ứng dụng dùng gần nhất")
    assert (await lan_zalo.user()).preferred_channel is None

    await lan_zalo.press("Bỏ liên kết Telegram")
    assert "Đã bỏ liên kết Telegram" in lan_zalo.text
    await lan.command("/help")  # Telegram is somebody new again, who never agreed
    assert await lan.user() is None

    code = await take_code(lan_zalo)
    await lan.command(f"/link {code}")
    await lan_zalo.command("/stats")  # refused, and audited as the Zalo account
    await lan.command("/forget")  # from Telegram: Zalo Bot is the linked account now
    await lan.press("Xóa hết")
    for table in ("users", "linked_accounts", "link_codes"):
        assert (await app.store.db.fetchone(f"SELECT count(*) FROM {table}"))[0] == 0
    trail = await app.store.db.fetchall("SELECT actor FROM audit_log")
    assert trail and {row["actor"] for row in trail} == {"forgotten"}
    assert await lan_zalo.user() is None


async def test_codes_are_rate_limited_and_guessing_is_throttled(app, clock):
    lan = Member(app, "1001", channel="telegram")
    await onboard(lan)
    linking = app.services.linking
    person = await lan.user()
    codes = [await linking.issue(person) for _ in range(CODES_PER_HOUR)]
    assert all(re.fullmatch(r"\d{8}", c) for c in codes) and len(set(codes)) == len(codes)
    assert await linking.issue(person) is Refusal.TOO_MANY_CODES

    stranger = await app.services.members.arrive(
        "zalobot",
        "6ede0000000000000004",
        chat_id="6ede0000000000000004",
        display_name="",
        locale="vi",
    )
    guesser = stranger[0]
    for n in range(TRIES_PER_ACCOUNT):
        assert await linking.redeem(f"{n:08}", guesser) is Refusal.UNKNOWN
    assert await linking.redeem(codes[0], guesser) is Refusal.TOO_MANY_TRIES  # even the right one

    clock.advance(minutes=61)  # the tries are forgiven, but the code has expired meanwhile
    assert await linking.redeem(codes[0], guesser) is Refusal.UNKNOWN
    fresh = await linking.issue(person)
    assert isinstance(await linking.redeem(fresh, guesser), Linked)


async def test_a_second_account_on_the_same_channel_is_refused(app):
    lan = Member(app, "1001", channel="telegram")
    await onboard(lan)
    code = await take_code(lan)
    other = Member(app, "1002", channel="telegram")
    await other.command(f"/link {code}")
    assert "đã liên kết một tài khoản khác trên ứng dụng này" in other.text
    assert (await app.store.db.fetchone("SELECT count(*) FROM linked_accounts"))[0] == 0


async def test_a_person_bringing_an_account_on_an_app_already_linked_is_refused(app):
    lan = Member(app, "1001", channel="telegram")
    await onboard(lan)
    lan_zalo = Member(app, "6ede0000000000000005", channel="zalobot")
    await lan_zalo.command(f"/link {await take_code(lan)}")  # Lan: Telegram + Zalo Bot
    minh_oa = Member(app, "8001", channel="zalo")
    await onboard(minh_oa)
    minh_telegram = Member(app, "1002", channel="telegram")
    await minh_telegram.command(f"/link {await take_code(minh_oa)}")  # Minh: Zalo OA + Telegram
    await minh_oa.command("/help")  # Minh writes from the OA again: Telegram is put aside
    await minh_oa.command(f"/link {await take_code(lan_zalo)}")
    assert "đã liên kết một tài khoản khác trên ứng dụng này" in minh_oa.text
    assert (await app.store.db.fetchone("SELECT count(*) FROM users"))[0] == 2
    assert (await app.store.db.fetchone("SELECT count(*) FROM linked_accounts"))[0] == 2


async def test_a_super_admin_stays_one_from_a_linked_zalo_account(app):
    chair = Member(app, "999", channel="telegram")  # in ADMIN_IDS
    await onboard(chair)
    chair_zalo = Member(app, "6ede0000000000000006", channel="zalobot")
    await chair_zalo.command(f"/link {await take_code(chair)}")
    await chair_zalo.command("/stats")  # from Zalo: still the super admin
    assert "thành viên" in chair_zalo.text.lower()
    assert not await app.store.db.fetchall("SELECT 1 FROM audit_log WHERE action = 'refused'")
    staff = AudienceFilter(staff_only=True)
    assert await app.services.outreach.audience_size(staff) == 1  # digests still reach them
    await chair_zalo.press("Trang chủ")
    await chair_zalo.command("/link")
    await chair_zalo.press("Bỏ liên kết Telegram")
    await chair_zalo.command("/stats")  # the Zalo account alone is nobody's super admin
    assert await app.store.db.fetchall("SELECT 1 FROM audit_log WHERE action = 'refused'")
