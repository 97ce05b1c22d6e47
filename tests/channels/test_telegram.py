"""End to end: the real python-telegram-bot Application, polling a fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.channels.telegram import TelegramChannel
from bot.core.messages import Kind
from fakes.bot_api import FakeBotAPI, FakeUser, SentMessage

LAN = FakeUser(id=1001, first_name="Lan")
JOHN = FakeUser(id=2002, first_name="John", language_code="en")


class Phone:
    """One member's phone: acts through the fake server and waits for the bot's answer."""

    def __init__(self, fake: FakeBotAPI, user: FakeUser) -> None:
        self.fake = fake
        self.user = user

    def _seen(self) -> dict[int, int]:
        return {m.message_id: m.edits for m in self.fake.messages(self.user.id)}

    async def _turn(self, act) -> SentMessage:
        """Do `act`, wait until the bot has fully handled it, return the message that changed."""
        before = self._seen()
        update_id = act()
        await self.fake.wait_until_acknowledged(update_id)
        await self.fake.wait_for(lambda: self._seen() != before)
        changed = [
            m for m in self.fake.messages(self.user.id) if before.get(m.message_id) != m.edits
        ]
        return changed[-1]

    async def send(self, text: str) -> SentMessage:
        return await self._turn(lambda: self.fake.user_sends(self.user, text))

    async def press(self, label: str, message: SentMessage | None = None) -> SentMessage:
        message = message or self.fake.last_message(self.user.id)
        data = dict(pair for row in message.buttons() for pair in row).get(label)
        assert data, f"no button {label!r} in {message.button_texts()}"
        answered = len(self.fake.answered_callbacks)
        shown = await self._turn(lambda: self.fake.user_presses(self.user, message, data))
        await self.fake.wait_for(lambda: len(self.fake.answered_callbacks) > answered)
        return shown


@pytest.fixture
async def fake():
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def channel(app, fake):
    channel = TelegramChannel.build(
        app.dispatcher, fake.token, fake.base_url, app.store.inbound, poll_timeout=1
    )
    await channel.start()
    yield channel
    await channel.close()


async def test_onboarding_and_plans_on_a_phone(app, fake, channel):
    phone = Phone(fake, LAN)
    welcome = await phone.send("/start")
    assert "Kính chào Lan!" in welcome.visible_text()
    assert welcome.parse_mode == "HTML"
    # The language comes first, each name in its own language; consent then comes in it.
    assert welcome.buttons() == [[("Tiếng Việt", "lang:vi:c"), ("English", "lang:en:c")]]

    consent = await phone.press("Tiếng Việt")
    assert consent.message_id == welcome.message_id and consent.edits == 1  # edited in place
    assert consent.buttons() == [[("Đồng ý", "consent:1:vi"), ("Không đồng ý", "consent:0")]]

    await phone.press("Đồng ý")
    await phone.press("Hộ gia đình")
    found = await phone.send("ninh kieu")
    assert found.button_texts()[0] == "phường Ninh Kiều"
    menu = await phone.press("phường Ninh Kiều")
    assert "Đã lưu: phường Ninh Kiều." in menu.visible_text()
    assert menu.button_texts() == [
        "Xem kế hoạch",
        "Tự đánh giá",
        "Sự kiện",
        "Tiến độ",
        "Cài đặt",
        "Dữ liệu của tôi",
        "Hướng dẫn",
    ]

    plans = await phone.press("Xem kế hoạch")
    assert plans.button_texts()[-1] == "Trang chủ"
    plan = await phone.press("QĐ 387 (cả nước)")
    assert "Quyết định 387/QĐ-TTg" in plan.visible_text()
    assert plan.button_texts() == [
        "Mục tiêu",
        "Nhiệm vụ",
        "Tôi làm gì?",
        "Nguồn và lưu ý",
        "Kiểm tra hiểu biết",
        "Quay lại",
        "Trang chủ",
    ]
    assert len(fake.answered_callbacks) == 6  # every press answered

    user = await app.store.users.find("telegram", "1001")
    assert (user.role, user.area_code, user.consented) == ("ho-gia-dinh", "31135", True)


async def test_command_menu_registered_in_both_languages(fake, channel):
    vi = fake.commands[("default", "")]
    en = fake.commands[("default", "en")]
    assert {"command": "plans", "description": "Kế hoạch của Hội"} in vi
    assert {"command": "plans", "description": "The association's plans"} in en
    assert fake.calls_to("deleteWebhook")


async def test_english_member(fake, channel):
    phone = Phone(fake, JOHN)
    welcome = await phone.send("/start")
    assert "Welcome, John!" in welcome.visible_text()
    assert welcome.button_texts() == ["Tiếng Việt", "English"]
    consent = await phone.press("English")
    assert consent.button_texts() == ["I agree", "I do not agree"]


async def test_user_text_is_escaped(app, fake, channel):
    phone = Phone(fake, FakeUser(id=3003, first_name="<b>Bà Tư</b> & co"))
    welcome = await phone.send("/start")
    assert "Kính chào <b>Bà Tư</b> & co!" in welcome.visible_text()
    shown = await phone.press("Tiếng Việt")
    await phone.press("Đồng ý", shown)
    await phone.press("Bỏ qua")
    reply = await phone.send("<i>ninh</i> & <kieu>")
    assert "“<i>ninh</i> & <kieu>”" in reply.visible_text()


async def test_group_chats_only_get_answers_to_commands_for_this_bot(fake, channel):
    group = -5005
    fake.user_sends(LAN, "xin chào cả nhà", chat_id=group, chat_type="group")
    fake.user_sends(LAN, "/help@other_bot", chat_id=group, chat_type="group")
    last = fake.user_sends(LAN, "/help@khuyenhoc_test_bot", chat_id=group, chat_type="group")
    [answer] = await fake.wait_for_messages(group, 1)
    await fake.wait_until_acknowledged(last)
    assert "Hướng dẫn" in answer.visible_text()
    assert len(fake.messages(group)) == 1


class Handled:
    """Records each inbound event the dispatcher has finished with, and wakes waiters."""

    def __init__(self, app) -> None:
        self.seen: list[tuple[str, str]] = []  # (update_id, kind)
        self._changed = asyncio.Event()
        app.dispatcher.observers.append(self._observe)

    def _observe(self, inbound, seconds, failed) -> None:
        self.seen.append((inbound.update_id, str(inbound.kind)))
        self._changed.set()

    async def until(self, predicate, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


async def test_blocking_and_unblocking(app, fake, channel):
    handled = Handled(app)
    phone = Phone(fake, LAN)
    await phone.send("/start")
    await phone.press("Tiếng Việt")
    await phone.press("Đồng ý")
    blocked = fake.user_blocks(LAN)
    await handled.until(lambda: (str(blocked), "blocked") in handled.seen)
    assert (await app.store.users.find("telegram", "1001")).status == "blocked"
    unblocked = fake.user_unblocks(LAN)
    await handled.until(lambda: (str(unblocked), "unblocked") in handled.seen)
    assert (await app.store.users.find("telegram", "1001")).status == "active"


async def test_a_send_refused_as_blocked_marks_the_member(app, fake, channel):
    handled = Handled(app)
    phone = Phone(fake, LAN)
    await phone.send("/start")
    await phone.press("Tiếng Việt")
    await phone.press("Đồng ý")
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    fake.user_sends(LAN, "/help")
    # The refused send makes the channel report the member as blocked to the dispatcher.
    await handled.until(lambda: any(kind == "blocked" for _, kind in handled.seen))
    assert (await app.store.users.find("telegram", "1001")).status == "blocked"


async def test_bad_input_gets_clear_answers(fake, channel):
    phone = Phone(fake, LAN)
    await phone.send("/start")
    unknown = await phone.send("/khongco")
    assert "Hội chưa có lệnh /khongco." in unknown.visible_text()
    long = await phone.send("a " * 2500)
    assert "Hội chưa hiểu" in long.visible_text()
    sticker = await phone._turn(lambda: fake.user_sends_media(LAN, "sticker"))
    assert "chưa đọc được ảnh" in sticker.visible_text()
    menu = fake.last_message(LAN.id)
    before = len(fake.answered_callbacks)
    forged = await phone._turn(lambda: fake.user_presses(LAN, menu, "plan:../../etc:main"))
    assert "Nút này đã cũ" in forged.visible_text()
    await fake.wait_for(lambda: len(fake.answered_callbacks) > before)


async def test_a_crashing_handler_is_answered_acknowledged_and_survived(app, fake, channel, caplog):
    async def broken(ctx):
        raise RuntimeError("boom")

    original = app.dispatcher.root.commands["plans"]
    app.dispatcher.root.commands["plans"] = broken
    phone = Phone(fake, LAN)
    try:
        with caplog.at_level(logging.ERROR):
            apology = await phone.send("/plans")
        assert "Xin lỗi Anh/Chị" in apology.visible_text()
        assert any("handler failed" in r.message for r in caplog.records)
    finally:
        app.dispatcher.root.commands["plans"] = original
    plans = await phone.send("/plans")  # the poison update was not retried; the bot goes on
    assert "Kế hoạch của Hội" in plans.visible_text()


async def test_updates_of_one_chat_are_handled_in_order(fake, channel):
    phone = Phone(fake, LAN)
    await phone.send("/start")
    await phone.press("Tiếng Việt")
    await phone.press("Đồng ý")
    await phone.press("Bỏ qua")
    queries = ["ninh kieu", "cai rang", "tan an", "an binh", "cai khe"]
    count = len(fake.messages(LAN.id))
    for query in queries:
        fake.user_sends(LAN, query)
    messages = await fake.wait_for_messages(LAN.id, count + len(queries))
    answers = [m.visible_text() for m in messages[count:]]
    for query, answer in zip(queries, answers, strict=True):
        assert f"“{query}”" in answer


async def test_one_member_sending_a_burst_does_not_hold_up_the_others(fake, channel):
    for _ in range(100):  # handled in order, one at a time, as any chat's updates are
        fake.user_sends(LAN, "/help")
    fake.user_sends(JOHN, "/start")
    await fake.wait_for_messages(JOHN.id, 1, timeout=30)
    # John was answered at once, not after Lan's hundred messages.
    assert len(fake.messages(LAN.id)) < 50

    def answered() -> int:
        return sum("Hướng dẫn" in m.visible_text() for m in fake.messages(LAN.id))

    # Each of Lan's messages is answered, or (beyond the bound on a chat's queue) dropped with
    # one notice for the whole burst.
    def notices() -> int:
        return sum("gửi nhanh quá" in m.visible_text() for m in fake.messages(LAN.id))

    await fake.wait_for(lambda: answered() + channel.flood.dropped == 100, timeout=60)
    if channel.flood.dropped:
        await fake.wait_for(lambda: notices() > 0, timeout=10)
    assert notices() == (1 if channel.flood.dropped else 0)


async def test_long_replies_are_split_at_clean_boundaries(app, fake, channel):
    from bot.core.messages import Reply

    text = "\n\n".join(f"Đoạn {n}: " + "học tập suốt đời " * 40 for n in range(12))
    await channel.send(LAN.id, Reply(text=text))
    messages = await fake.wait_for_messages(LAN.id, 2)
    assert all(len(m.text) <= 4096 for m in messages)
    assert all(m.text.startswith("Đoạn") for m in messages)
    assert "".join(m.text for m in messages).count("Đoạn") == 12


async def test_photo_and_document_replies(fake, channel):
    from bot.core.messages import Reply

    await channel.send(LAN.id, Reply(text="📊 Biểu đồ", image=b"\x89PNG...", image_name="c.png"))
    await channel.send(LAN.id, Reply(text="Tệp", document=b"a,b\n", document_name="x.csv"))
    photo, document = await fake.wait_for_messages(LAN.id, 2)
    assert (photo.kind, photo.caption, photo.file_bytes) == ("photo", "📊 Biểu đồ", b"\x89PNG...")
    assert (document.kind, document.file_name, document.file_bytes) == (
        "document",
        "x.csv",
        b"a,b\n",
    )


async def test_a_self_assessment_on_a_phone(app, fake, channel):
    phone = Phone(fake, LAN)
    await phone.send("/start")
    await phone.press("Tiếng Việt")
    await phone.press("Đồng ý")
    await phone.press("Hộ gia đình")
    await phone.press("Bỏ qua")
    intro = await phone.send("/start assess-gia-dinh-hoc-tap")
    assert "Gồm 9 câu hỏi" in intro.visible_text()
    question = await phone.press("Bắt đầu")
    assert question.message_id == intro.message_id  # one message, edited question by question
    assert "Câu 1/9" in question.visible_text()
    question = await phone.press(question.button_texts()[0])
    assert "Câu 2/9" in question.visible_text()
    question = await phone.press("‹ Câu trước")
    assert "Câu 1/9" in question.visible_text()
    assert question.button_texts()[0].startswith("✓ ")
    for _ in range(9):
        question = await phone.press(question.button_texts()[0])
    assert "đáp ứng đủ 4/4 tiêu chí" in question.visible_text()
    assert "Nhắc sau 30 ngày" in question.button_texts()
    runs = await app.store.assessments.history((await app.store.users.find("telegram", "1001")).id)
    assert len(runs) == 1 and runs[0].passed


def _update(**body) -> dict:
    """A Bot API update as Telegram sends it, from Lan in her private chat."""
    sender = {"id": LAN.id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    chat = {"id": LAN.id, "type": "private", "first_name": "Lan"}
    kind, fields = next(iter(body.items()))
    if kind == "callback_query":
        message = {"message_id": 7, "date": 0, "chat": chat, "text": "…"}
        return {
            "update_id": 9,
            kind: {"id": "q1", "from": sender, "chat_instance": "c", **fields, "message": message},
        }
    if kind == "my_chat_member":
        member = {"chat": chat, "from": sender, "date": 0, **fields}
        return {"update_id": 9, kind: member}
    return {
        "update_id": 9,
        kind: {"message_id": 3, "date": 0, "chat": chat, "from": sender, **fields},
    }


async def test_updates_are_read_from_the_bot_api_json(channel):
    """The channel reads updates as the JSON they come as: formatting survives as HTML (UTF-16
    offsets, as Telegram counts them), buttons, media and blocking are told apart."""
    text = "👋 Mời dự Tuần lễ <học tập>"
    formatted = channel.to_inbound(
        _update(
            message={
                "text": text,
                "entities": [
                    {"type": "bold", "offset": 3, "length": 3},
                    {"type": "text_link", "offset": 10, "length": 7, "url": "https://example.org/"},
                ],
            }
        )
    )
    assert formatted.kind is Kind.TEXT
    assert formatted.html == (
        '👋 <b>Mời</b> dự <a href="https://example.org/">Tuần lễ</a> &lt;học tập&gt;'
    )
    plain = channel.to_inbound(_update(message={"text": "a < b"}))
    assert (plain.text, plain.html) == ("a < b", "a &lt; b")

    pressed = channel.to_inbound(_update(callback_query={"data": "menu:o"}))
    assert (pressed.kind, pressed.text, pressed.message_id) == (Kind.ACTION, "menu:o", "7")

    photo = channel.to_inbound(
        _update(
            message={
                "photo": [
                    {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                    {"file_id": "large", "file_unique_id": "l", "width": 900, "height": 900},
                ],
                "caption": "Ảnh <lớp học>",
            }
        )
    )
    assert (photo.kind, photo.media, photo.media_id) == (Kind.MEDIA, "photo", "large")
    assert photo.html == "Ảnh &lt;lớp học&gt;"

    left = channel.to_inbound(
        _update(
            my_chat_member={
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 1, "is_bot": True, "first_name": "bot"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": 1, "is_bot": True, "first_name": "bot"},
                },
            }
        )
    )
    assert left.kind is Kind.BLOCKED
    assert channel.to_inbound({"update_id": 10, "edited_message": {}}) is None


async def test_an_update_says_whether_its_chat_is_the_members_own(channel):
    """Only a private chat is learnt as where to reach a member; the channel tells groups apart."""
    group = {"id": -100777, "type": "supergroup", "title": "Chi hội 4"}
    typed = _update(message={"text": "/mydata"})
    assert channel.to_inbound(typed).private
    typed["message"]["chat"] = group
    in_group = channel.to_inbound(typed)
    assert (in_group.private, in_group.chat_id, in_group.user_id) == (False, "-100777", str(LAN.id))
    pressed = _update(callback_query={"data": "menu:o"})
    assert channel.to_inbound(pressed).private
    pressed["callback_query"]["message"]["chat"] = group
    assert not channel.to_inbound(pressed).private


async def test_one_members_flood_does_not_hold_up_the_others(fake, channel):
    """A member sends 60 messages while the bot's answer to the first hangs: beyond the bound
    (20 in hand: one answered, 19 waiting) their messages are dropped, they are told once, and
    everyone else is answered at once."""
    flooder = FakeUser(id=3001, first_name="Nhanh")
    fake.hang_chat(flooder.id, 3.0)  # their first answer takes 3 s: the rest must wait
    for n in range(60):
        fake.user_sends(flooder, f"tin {n}")
    others = [FakeUser(id=3100 + n, first_name=f"B{n}") for n in range(5)]
    await fake.wait_for(lambda: channel.flood.dropped >= 40, timeout=10)
    for other in others:
        fake.user_sends(other, "/help")
    for other in others:  # long before the flooder's hanging answer is done
        [answer] = await fake.wait_for_messages(other.id, 1, timeout=2)
        assert "Hướng dẫn" in answer.visible_text()

    def told() -> list:
        return [m for m in fake.messages(flooder.id) if "gửi nhanh quá" in m.visible_text()]

    await fake.wait_for(lambda: bool(told()), timeout=10)
    assert len(told()) == 1  # once per flood, not once per dropped message
    assert channel.counters()["updates_dropped"] == channel.flood.dropped == 40
