"""APScheduler wiring. The database is the source of truth: every job here is derived from rows
(scheduled announcements, and later event reminders) and re-armed from them at start, so a
restart loses nothing; jobs only decide *when* to wake the parts that read the rows.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None] | None]


class Scheduler:
    def __init__(self, timezone: ZoneInfo, runs_here: Callable[[], bool] | None = None) -> None:
        """`runs_here`: whether this process runs the jobs now (several instances on one
        PostgreSQL database: only the leader does; every instance keeps the timers, so another
        takes over on the spot). None: always."""
        self._aps = AsyncIOScheduler(timezone=timezone)
        self._runs_here = runs_here

    def _here(self, func: Job) -> Job:
        if self._runs_here is None:
            return func
        runs_here = self._runs_here

        async def job() -> None:
            if runs_here():
                result = func()
                if inspect.isawaitable(result):
                    await result

        return job

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return self._aps.running

    def at(self, job_id: str, when: datetime, func: Job) -> None:
        """Run `func` once at `when` (at once if that has passed: a late job still runs)."""
        self._aps.add_job(
            self._here(func),
            DateTrigger(run_date=when),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def every(self, job_id: str, seconds: float, func: Job, *, everywhere: bool = False) -> None:
        """Run `func` every `seconds`; `everywhere`: on every instance, not only the leader
        (a job that keeps this process's own state fresh, such as the content it serves)."""
        self._aps.add_job(
            func if everywhere else self._here(func),
            IntervalTrigger(seconds=seconds),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    def daily(self, job_id: str, hour: int, minute: int, func: Job) -> None:
        """Every day at this local time."""
        self._aps.add_job(
            self._here(func),
            CronTrigger(hour=hour, minute=minute),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )

    def cancel(self, job_id: str) -> None:
        if self._aps.get_job(job_id) is not None:
            self._aps.remove_job(job_id)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]
