"""Telling staff about new member questions: a digest at most every few minutes, never in quiet
hours, to the staff group (`STAFF_CHAT_ID`) or else privately to every admin and editor."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.records import AudienceFilter
from bot.store.db import from_db_time, to_db_time

if TYPE_CHECKING:
    from bot.core.context import Services

DIGEST_EVERY = timedelta(minutes=5)
LAST_DIGEST = "inbox_last_digest"


async def notify_staff(services: Services, staff_chat_id: str | None) -> int:
    """Send one digest of the questions staff have not been told about; returns how many."""
    store, now = services.store, services.clock()
    if services.reminders.in_quiet_hours(now.astimezone(services.settings.timezone)):
        return 0
    last = from_db_time(await store.meta.get(LAST_DIGEST))
    if last is not None and now - last < DIGEST_EVERY:
        return 0
    tickets = await store.tickets.unnotified()
    if not tickets:
        return 0
    i18n = services.i18n
    locale = services.catalog.campaign.default_locale
    lines = "\n".join(f"#{t.id}: “{t.question[:120]}”" for t in tickets[:10])
    text = i18n.t(locale, "inbox.digest", count=len(tickets), lines=lines)
    audience = (
        AudienceFilter(chats=(staff_chat_id,)) if staff_chat_id else AudienceFilter(staff_only=True)
    )
    await services.outreach.announce("inbox", text, audience)
    await store.tickets.mark_notified([t.id for t in tickets])
    await store.meta.set(LAST_DIGEST, to_db_time(now))
    return len(tickets)
