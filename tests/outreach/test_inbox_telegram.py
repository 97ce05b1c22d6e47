"""A member's question through Telegram: staff are notified, answer in chat, the member gets it."""

from __future__ import annotations

from datetime import time

from fakes.bot_api import FakeUser
from tests.channels.test_telegram import Phone
from tests.outreach.test_event_telegram import onboard

ADMIN = FakeUser(id=999, first_name="Chủ tịch")
MEMBER = FakeUser(id=1001, first_name="Lan")


async def test_ticket_lifecycle_on_the_phone(live, fake):
    app, _ = live
    app.services.reminders.quiet = (time(0, 0), time(0, 0))  # no quiet hours in this test
    admin, member = Phone(fake, ADMIN), Phone(fake, MEMBER)
    await onboard(admin)
    await onboard(member)

    offer = await member.send("Xe đưa đón điểm trường Rạch Gòi có chạy thứ bảy không?")
    assert "Hỏi cán bộ Hội" in offer.button_texts()
    received = await member.press("Hỏi cán bộ Hội")
    assert "Hội đã nhận câu hỏi số #1" in received.visible_text()

    before = len(fake.messages(ADMIN.id))
    assert await app.services.inbox.notify_staff() == 1
    assert await app.services.inbox.notify_staff() == 0  # a digest, not a flood
    digest = (await fake.wait_for_messages(ADMIN.id, before + 1))[-1]
    assert "1 câu hỏi mới" in digest.visible_text() and "Rạch Gòi" in digest.visible_text()

    inbox = await admin.send("/inbox")
    assert "#1" in inbox.visible_text()
    await admin.press("Trả lời #1", inbox)
    count = len(fake.messages(MEMBER.id))  # before: the answer may reach her first
    done = await admin.send("Có, xe chạy cả thứ bảy từ 6 giờ 30.")
    assert "Đã gửi câu trả lời" in done.visible_text()
    answer = (await fake.wait_for_messages(MEMBER.id, count + 1))[-1]
    assert "Cán bộ Hội trả lời câu hỏi #1" in answer.visible_text()
    assert "Rạch Gòi" in answer.visible_text() and "6 giờ 30" in answer.visible_text()
    ticket = await app.store.tickets.get(1)
    assert ticket.status == "answered"
