"""Reminders on a controlled clock: offsets, quiet hours, exactly-once, grace and missed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from bot.catalog.events import Event, Reminder
from bot.catalog.reader import Text
from bot.records import AudienceFilter
from bot.services.reminders import ALL_EVENTS, ReminderService, event_topic
from tests.outreach.conftest import seed

T = Text({"vi": "Sự kiện thử", "en": "Test event"})


def yearly(event_id, start, end=None, **extra):
    return Event(
        event_id, T, T, "yearly", start, end, reminders=(Reminder(0, time(7, 0)),), **extra
    )


def test_yearly_occurrences_across_a_year_boundary_and_leap_day():
    winter = yearly("tet", (12, 30), (1, 2))
    [occurrence] = winter.occurrences(date(2026, 12, 1), date(2027, 1, 31))
    assert (occurrence.start, occurrence.end) == (date(2026, 12, 30), date(2027, 1, 2))
    leap = yearly("leap", (2, 29))
    starts = [o.start for o in leap.occurrences(date(2027, 1, 1), date(2028, 12, 31))]
    assert starts == [date(2027, 2, 28), date(2028, 2, 29)]


def firings_by_event(rows, key):
    return [r for r in rows if r["key"] == key]


async def all_firings(app):
    return await app.store.db.fetchall("SELECT * FROM reminder_firings ORDER BY fire_at")


async def test_reminder_offsets_are_local_times(app, clock):
    clock.now = datetime(2026, 9, 20, 0, 0, tzinfo=UTC)
    await app.services.reminders.plan()
    week = firings_by_event(await all_firings(app), "tuan-le-hoc-tap")
    assert [(r["occurrence"], r["fire_at"]) for r in week[:3]] == [
        ("2026-10-01", "2026-09-24T01:00:00.000"),  # 7 days before, 08:00 in Cần Thơ
        ("2026-10-01", "2026-09-30T12:00:00.000"),  # the day before, 19:00
        ("2026-10-01", "2026-10-01T00:00:00.000"),  # the morning of, 07:00
    ]
    assert week[3]["occurrence"] == "2027-10-01"  # next year's, already planned
    planned_again = await app.services.reminders.plan()
    assert planned_again == 0  # idempotent


async def test_fires_once_to_subscribers_in_their_language(app, clock):
    reminders = app.services.reminders
    clock.now = datetime(2026, 9, 29, 0, 0, tzinfo=UTC)
    vi, en, everything, stopped, other = await seed(app, 5)
    await app.store.users.update(en.id, locale="en")
    await app.store.users.update(stopped.id, status="stopped")
    for member in (vi, en, stopped):
        await app.store.calendar.toggle_topic(member.id, event_topic("tuan-le-hoc-tap"))
    await app.store.calendar.toggle_topic(everything.id, ALL_EVENTS)
    await reminders.plan()

    clock.now = datetime(2026, 9, 30, 12, 0, 30, tzinfo=UTC)  # just after 19:00 local
    assert (await reminders.tick())["fired"] >= 1
    announcements = await app.store.announcements.listing(["scheduled"])
    texts = {a.audience.locale: a.text for a in announcements}
    assert "Ngày mai: Tuần lễ hưởng ứng học tập suốt đời" in texts["vi"]
    assert "01–07/10/2026" in texts["vi"]
    assert "Tomorrow: Lifelong Learning Week" in texts["en"]
    recipients = set()
    for announcement in announcements:
        await app.store.announcements.start_sending(announcement, [], None)
        rows = await app.store.db.fetchall(
            "SELECT user_id FROM deliveries WHERE announcement_id = ?", (announcement.id,)
        )
        recipients |= {r["user_id"] for r in rows}
    assert recipients == {vi.id, en.id, everything.id}  # not the stopped one, not `other`
    assert other.id not in recipients

    # A restart: a new service on the same database plans and ticks again; nothing repeats.
    again = ReminderService(
        app.store,
        app.catalog,
        app.services.i18n,
        app.services.outreach,
        clock=clock,
        timezone=app.settings.timezone,
    )
    await again.plan()
    assert (await again.tick())["fired"] == 0
    assert len(await app.store.announcements.listing(["scheduled", "sending"])) == len(
        announcements
    )


async def test_down_across_the_fire_time_late_within_grace_or_missed(app, clock):
    reminders = app.services.reminders
    clock.now = datetime(2026, 9, 29, 0, 0, tzinfo=UTC)
    [admin] = await seed(app, 1)
    await app.store.staff.grant(admin.id, "admin", "test")
    [member] = await seed(app, 1, start=6000)
    await app.store.calendar.toggle_topic(member.id, ALL_EVENTS)
    await reminders.plan()

    # Back up 90 minutes after the 19:00 reminder: within the 2-hour grace, sent late.
    clock.now = datetime(2026, 9, 30, 13, 30, tzinfo=UTC)
    assert (await reminders.tick())["fired"] == 1  # Lifelong Learning Week, the day before
    # Down from then until well after the next morning's 07:00 reminders: missed.
    clock.now = datetime(2026, 10, 1, 4, 0, tzinfo=UTC)  # 11:00 local
    summary = await reminders.tick()
    assert summary["missed"] == 1 and summary["fired"] == 0
    statuses = {(r["key"], r["fire_at"]): r["status"] for r in await all_firings(app)}
    assert statuses[("tuan-le-hoc-tap", "2026-10-01T00:00:00.000")] == "missed"
    staff_reports = [
        a for a in await app.store.announcements.listing(["scheduled"]) if a.audience.staff_only
    ]
    assert staff_reports and "Tuần lễ hưởng ứng học tập suốt đời" in staff_reports[0].text


async def test_quiet_hours_hold_personal_reminders(app, clock):
    reminders = app.services.reminders
    [member] = await seed(app, 1)
    due = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # 23:00 local
    await app.store.assessments.remind_recheck(member.id, "gia-dinh-hoc-tap", due)
    clock.now = due + timedelta(minutes=30)
    assert (await reminders.tick())["rechecks"] == 0  # 23:30: quiet
    clock.now = datetime(2026, 10, 5, 23, 59, tzinfo=UTC)  # 06:59
    assert (await reminders.tick())["rechecks"] == 0
    clock.now = datetime(2026, 10, 6, 0, 0, tzinfo=UTC)  # 07:00
    assert (await reminders.tick())["rechecks"] == 1
    assert (await reminders.tick())["rechecks"] == 0  # once
    [announcement] = await app.store.announcements.listing(["scheduled"])
    assert announcement.audience == AudienceFilter(user_ids=(member.id,))
    assert "làm lại bài “Tự đánh giá Gia đình học tập”" in announcement.text
    assert "tự đánh giá lại “Tự đánh giá" not in announcement.text  # said once, not twice

    # An event reminder set inside quiet hours moves to their end.
    late = dataclasses.replace(yearly("muon", (10, 20)), reminders=(Reminder(1, time(22, 30)),))
    reminders.custom = (late,)
    clock.now = datetime(2026, 10, 1, tzinfo=UTC)
    await reminders.plan()
    [row] = firings_by_event(await all_firings(app), "muon")[:1]
    assert row["fire_at"] == "2026-10-20T00:00:00.000"  # 07:00 local on the day


async def test_weekly_tip_on_sunday_evening(app, clock):
    reminders = app.services.reminders
    clock.now = datetime(2026, 10, 1, tzinfo=UTC)  # a Thursday
    [member] = await seed(app, 1)
    await app.store.calendar.toggle_topic(member.id, "weekly-tip")
    await reminders.plan()
    tips = firings_by_event(await all_firings(app), "weekly")
    assert tips[0]["occurrence"] == "2026-10-04" and tips[0]["fire_at"] == "2026-10-04T12:00:00.000"
    clock.now = datetime(2026, 10, 4, 12, 0, 5, tzinfo=UTC)
    await reminders.tick()
    [tip] = await app.store.announcements.listing(["scheduled"])
    assert "Gợi ý học tập tuần này" in tip.text and tip.audience.topics == ("weekly-tip",)


async def test_staff_deadline_goes_to_all_staff_without_subscribing(app, clock):
    reminders = app.services.reminders
    clock.now = datetime(2026, 11, 20, tzinfo=UTC)
    [editor] = await seed(app, 1)
    await app.store.staff.grant(editor.id, "editor", "test")
    await seed(app, 3, start=7000)
    await reminders.plan()
    clock.now = datetime(2026, 12, 1, 1, 0, 10, tzinfo=UTC)  # 14 days before, 08:00
    await reminders.tick()
    [deadline] = await app.store.announcements.listing(["scheduled"])
    assert deadline.audience.staff_only and "Còn 14 ngày nữa" in deadline.text
    assert await app.services.outreach.audience_size(deadline.audience) == 1
