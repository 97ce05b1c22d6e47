"""The calendar as members and staff change it: who follows what (an event, every event, the
weekly tip), who will attend an occurrence, and the one-off events staff add and cancel.

It owns the `subscriptions`, `rsvps` and `custom_events` rows. What the calendar holds and when
reminders fire is `ReminderService`'s; a staff change here re-plans its reminders at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.services.reminders import event_topic

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.services.reminders import ReminderService
    from bot.store import Store

# A one-off event is reminded of the evening before and on the morning of the day.
ONE_OFF_REMINDERS = ({"days_before": 1, "at": "19:00"}, {"days_before": 0, "at": "07:00"})


@dataclass(frozen=True, slots=True)
class Interest:
    """How many will attend one occurrence, and how many follow its event (for staff)."""

    attending: int
    followers: int


class CalendarService:
    def __init__(self, store: Store, catalog: Catalog, reminders: ReminderService) -> None:
        self._calendar = store.calendar
        self._catalog = catalog
        self._reminders = reminders

    # -- members --------------------------------------------------------------------------------
    async def topics_of(self, user_id: int) -> set[str]:
        """What the member follows: `event_topic(id)`, `ALL_EVENTS`, `WEEKLY_TIP`."""
        return await self._calendar.topics_of(user_id)

    async def toggle_follow(self, user_id: int, topic: str) -> bool:
        """Follow the topic, or stop following it; True when the member now follows it."""
        return await self._calendar.toggle_topic(user_id, topic)

    async def attends(self, user_id: int, event_id: str, occurrence: str) -> bool:
        return await self._calendar.attends(user_id, event_id, occurrence)

    async def toggle_attend(self, user_id: int, event_id: str, occurrence: str) -> bool:
        """Say "I'll attend", or take it back; True when the member now attends."""
        return await self._calendar.toggle_rsvp(user_id, event_id, occurrence)

    async def interest(self, event_id: str, occurrence: str) -> Interest:
        return Interest(
            attending=await self._calendar.rsvp_count(event_id, occurrence),
            followers=await self._calendar.followers(event_topic(event_id)),
        )

    # -- staff ------------------------------------------------------------------------------------
    async def add_event(
        self,
        title: str,
        start: str,
        created_by: str,
        *,
        place: str = "",
        areas: Sequence[str] = (),
    ) -> str:
        """A one-off event ("YYYY-MM-DD" or "YYYY-MM-DD HH:MM", local time), in every language
        as typed, for the whole city or (a branch's) some areas: only their members see it and
        are reminded; its reminders are planned at once. Returns the new event's id."""
        locales = self._catalog.campaign.locales
        body: dict[str, Any] = {
            "recurrence": "once",
            "start": start,
            "title": dict.fromkeys(locales, title),
            "reminders": [dict(reminder) for reminder in ONE_OFF_REMINDERS],
        }
        if place:
            body["place"] = dict.fromkeys(locales, place)
        if areas:
            body["audience"] = {"areas": list(areas)}
        event_id = await self._calendar.add_event(body, created_by)
        await self._reminders.refresh()
        return event_id

    async def cancel_event(self, event_id: str) -> bool:
        """Cancel a one-off event and its pending reminders; False when there was none active."""
        cancelled = await self._calendar.cancel_event(event_id)
        if cancelled:
            await self._reminders.refresh()
        return cancelled
