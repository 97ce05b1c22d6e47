"""Every message a member reads fits a phone: at most 1,000 characters, and 95% at most 600.

The walk is what a new member would read: onboarding, every plan page (with its sources and
notes), every self-assessment and plan quiz (intro, notes, each question, a result with every
criterion met and one with none, the longest advice), help, settings, the events, every FAQ
answer, and the history with past results reopened, in Vietnamese and in English.
"""

from __future__ import annotations

import pytest

from bot.core.text import plain
from tests.helpers import Member

MOST = 1000
USUAL = 600

LABELS = {
    "vi": {
        "language": "Tiếng Việt",
        "agree": "Đồng ý",
        "role": "Hộ gia đình",
        "plans": "Kế hoạch",
        "assess": "Tự đánh giá",
        "start": "Bắt đầu",
        "back": "Quay lại",
        "notes": "Nguồn và lưu ý",
    },
    "en": {
        "language": "English",
        "agree": "I agree",
        "role": "Household",
        "plans": "Plans",
        "assess": "Self-check",
        "start": "Start",
        "back": "Back",
        "notes": "Sources, notes",
    },
}


class Reader(Member):
    """A member who keeps every message they were shown."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []

    async def _handle(self, inbound):
        replies = await super()._handle(inbound)
        self.seen += [plain(r.text) for r in replies]
        return replies


async def _walk(app, locale: str) -> list[str]:
    words = LABELS[locale]
    member = Reader(app, user_id=f"9{len(locale)}{locale}", language_code=locale)
    await member.command("/start")
    if words["language"] in member.labels():  # the language comes first
        await member.press(words["language"])
    await member.press(words["agree"])
    if words["language"] in member.labels():
        await member.press(words["language"])
    await member.press(words["role"])
    await member.say("ninh kieu")
    await member.press(next(label for label in member.labels() if "Ninh Kiều" in label))

    catalog = app.catalog
    i18n = app.services.i18n
    for plan in catalog.plans:
        await member.command("/plans")
        await member.press(plain(i18n.text(locale, plan.button)))
        for page in [b.action for b in member.buttons() if b.action.startswith("plan:")]:
            await member.press_data(page)  # every other part, sources and notes among them

    notes = LABELS[locale]["notes"]
    for definition in catalog.definitions:
        for best in (True, False):  # every criterion met, then none: the longest advice
            await member.command(f"/start assess-{definition.id}")
            if best and notes in member.labels():
                await member.press(notes)
                await member.press(words["back"])
            await member.press(words["start"])
            for _ in definition.questions:
                options = [b for b in member.buttons() if b.action.startswith("aa:")]
                await member.press_data(options[0 if best else -1].action)
            assert any(b.action and b.action.startswith("ah") for b in member.buttons())

    for command in ("/help", "/mydata", "/settings", "/events"):
        await member.command(command)
    for event in [b.action for b in member.buttons() if b.action.startswith("ev:")]:
        await member.press_data(event)
    for entry in catalog.faq:  # every answer to a typed question
        await member.press_data(f"qa:faq:{entry.id}")

    # The history after 18 results, a page at a time, and every past result reopened from it.
    reopened, page = 0, "ah"
    while page:
        await member.press_data(page)
        past = [b.action for b in member.buttons() if b.action.startswith("ap:")]
        assert len(past) == 6
        older = [b.action for b in member.buttons() if b.action == f"ah:{reopened // 6 + 1}"]
        for action in past:
            await member.press_data(action)
        reopened += len(past)
        page = older[0] if older else ""
    assert reopened == 2 * len(catalog.definitions)
    return member.seen


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_every_message_a_member_reads_fits_a_phone(app, locale):
    seen = await _walk(app, locale)
    assert len(seen) > 60, len(seen)
    too_long = [(len(text), text[:80]) for text in seen if len(text) > MOST]
    assert not too_long, too_long
    usual = sum(len(text) <= USUAL for text in seen) / len(seen)
    longest = sorted(((len(t), t[:60]) for t in seen), reverse=True)[:8]
    assert usual >= 0.95, (usual, longest)
