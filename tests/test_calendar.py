"""The calendar service: members' follows and RSVPs, and staff's one-off events with their
reminders planned the moment they are added or cancelled."""

from __future__ import annotations

from bot.services.reminders import ALL_EVENTS, event_topic
from tests.outreach.conftest import seed


async def test_follows_and_attendance_toggle(app):
    calendar = app.services.calendar
    [lan, binh] = await seed(app, 2)
    assert await calendar.toggle_follow(lan.id, event_topic("tuan-le-hoc-tap"))
    assert await calendar.toggle_follow(binh.id, event_topic("tuan-le-hoc-tap"))
    assert await calendar.toggle_follow(lan.id, ALL_EVENTS)
    assert not await calendar.toggle_follow(lan.id, ALL_EVENTS)  # pressed again: off
    assert await calendar.topics_of(lan.id) == {event_topic("tuan-le-hoc-tap")}
    assert await calendar.toggle_attend(lan.id, "tuan-le-hoc-tap", "2026-10-01")
    assert await calendar.attends(lan.id, "tuan-le-hoc-tap", "2026-10-01")
    assert not await calendar.attends(binh.id, "tuan-le-hoc-tap", "2026-10-01")
    interest = await calendar.interest("tuan-le-hoc-tap", "2026-10-01")
    assert (interest.attending, interest.followers) == (1, 2)
    assert not await calendar.toggle_attend(lan.id, "tuan-le-hoc-tap", "2026-10-01")
    assert (await calendar.interest("tuan-le-hoc-tap", "2026-10-01")).attending == 0


async def test_a_one_off_event_is_planned_when_added_and_dropped_when_cancelled(app):
    calendar, reminders = app.services.calendar, app.services.reminders
    event_id = await calendar.add_event(
        "Lớp tin học", "2026-10-10 08:00", "test", place="Nhà văn hóa"
    )
    event = reminders.event(event_id)  # known at once, without waiting for housekeeping
    assert event is not None and event.custom
    assert [app.services.i18n.text(locale, event.place) for locale in ("vi", "en")] == [
        "Nhà văn hóa",
        "Nhà văn hóa",
    ]
    firings = await app.store.calendar.firings(event_id)
    assert [f.fire_at.isoformat() for f in firings] == [
        "2026-10-09T12:00:00+00:00",  # the evening before, 19:00 local
        "2026-10-10T00:00:00+00:00",  # the morning of, 07:00 local
    ]
    assert await calendar.cancel_event(event_id)
    assert reminders.event(event_id) is None
    assert {f.status for f in await app.store.calendar.firings(event_id)} == {"cancelled"}
    assert not await calendar.cancel_event(event_id)  # nothing left to cancel
    assert not await calendar.cancel_event("tuan-le-hoc-tap")  # content events are not staff's
