"""Wiring: the one place that knows all the parts. Builds the store, the catalog, the services and
the router, hands the channels a ready `Dispatcher`, and runs the background work (scheduler and
delivery worker) for the channels that can deliver."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.catalog import Catalog, load_catalog
from bot.catalog.i18n import Translator
from bot.config import Settings
from bot.core.channel import Sender
from bot.core.context import Services
from bot.core.messages import Inbound
from bot.core.router import Dispatcher
from bot.core.signals import Signal
from bot.services import maintenance
from bot.services.ask import Answerer
from bot.services.assessment import AssessmentService
from bot.services.inbox import notify_staff
from bot.services.members import MemberService
from bot.services.outreach import OutreachService
from bot.services.outreach.pacing import Pacer
from bot.services.outreach.worker import DeliveryWorker
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.services.scheduling import Scheduler
from bot.services.staff import StaffService
from bot.store import Store
from bot.store.db import Clock, utc_now
from bot.web.metrics import Metrics
from handlers import build_root_router

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    catalog: Catalog
    services: Services
    dispatcher: Dispatcher
    super_admins: set[tuple[str, str]] = field(default_factory=set)
    scheduler: Scheduler | None = None
    worker: DeliveryWorker | None = None
    pacer: Pacer | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # Parts started outside the app (a channel's polling): name -> is it running, for /healthz.
    health_checks: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dispatcher.observers.append(self._observe)
        self.metrics.before_scrape(self._refresh_gauges)

    def _observe(self, inbound: Inbound, seconds: float, failed: bool) -> None:
        self.metrics.observe_update(inbound.channel, inbound.kind, seconds, failed)
        self.metrics.last_update[inbound.channel] = self.services.clock()

    async def _refresh_gauges(self) -> None:
        self.metrics.outbox_depth.set(await self.store.deliveries.backlog())

    async def health(self) -> dict[str, Any]:
        """What /healthz reports; ok only when the database answers, the scheduler runs and every
        registered check (`health_checks`: name -> is it running) holds."""
        report: dict[str, Any] = {"ok": True}
        try:
            report["outbox_backlog"] = await self.store.deliveries.backlog()
            report["database"] = "ok"
        except Exception as exc:  # the point is to report it, whatever it is
            report["database"] = f"error: {type(exc).__name__}"
            report["ok"] = False
        running = self.scheduler is not None and self.scheduler.running
        report["scheduler"] = "running" if running else "stopped"
        report["ok"] = report["ok"] and running
        for name, check in self.health_checks.items():
            running = check()
            report[name] = "running" if running else "stopped"
            report["ok"] = report["ok"] and running
        report["last_update"] = {
            channel: moment.isoformat(timespec="seconds")
            for channel, moment in self.metrics.last_update.items()
        }
        return report

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        extra_admins: Iterable[tuple[str, str]] = (),
        catalog: Catalog | None = None,
    ) -> App:
        """Load content first (a content error must stop start-up before anything is opened).

        `catalog`: content already loaded (and so checked), used as is and never changed; by
        default it is loaded from `settings.content_dir`."""
        if catalog is None:
            catalog = load_catalog(settings.content_dir)
        store = await Store.open(settings.database_path, clock)
        i18n = Translator(catalog)
        super_admins = {("telegram", str(uid)) for uid in settings.admin_ids} | set(extra_admins)
        staff_changed = Signal("staff_changed")
        outreach = OutreachService(
            store,
            catalog,
            i18n,
            clock=clock,
            timezone=settings.timezone,
            paid=settings.paid_broadcast,
        )
        services = Services(
            store=store,
            catalog=catalog,
            i18n=i18n,
            settings=settings,
            clock=clock,
            assessments=AssessmentService(store, catalog),
            outreach=outreach,
            reminders=ReminderService(
                store,
                catalog,
                i18n,
                outreach,
                clock=clock,
                timezone=settings.timezone,
                quiet=(settings.quiet_start, settings.quiet_end),
            ),
            reports=ReportService(store, catalog, settings.timezone),
            answerer=Answerer(catalog),
            members=MemberService(store),
            staff=StaffService(store, super_admins, staff_changed),
        )
        services.outreach.super_admins = super_admins
        dispatcher = Dispatcher(build_root_router(), services)
        log.info(
            "ready: %d plans, %d assessments, %d areas, database %s",
            len(catalog.plans),
            len(catalog.definitions),
            len(catalog.areas),
            settings.database_path,
        )
        return cls(settings, store, catalog, services, dispatcher, super_admins)

    @property
    def outreach(self) -> OutreachService:
        return self.services.outreach

    async def start_background(self, senders: Iterable[Sender], **worker_options: float) -> None:
        """Run the scheduler and the delivery worker for these channels' senders."""
        settings = self.settings
        for sender in senders:
            self.outreach.senders[sender.channel] = sender
        self.pacer = Pacer(
            settings.broadcast_rate,
            chat_interval=settings.chat_interval,
            group_interval=60.0 / settings.group_per_minute,
        )
        extra = ("telegram", settings.announce_chat_id) if settings.announce_chat_id else None
        # Enough sends in flight to keep the rate through a 300 ms round trip, no more: what is
        # in flight is what a crash may send twice. At most 192: the Telegram connection pool
        # (256) also carries the answers to chatting members and the progress messages, and a
        # send waiting for a connection goes out late, bunched with others (429s at 1,000/s).
        in_flight = min(192, max(16, math.ceil(settings.broadcast_rate * 0.3)))
        worker_options.setdefault("max_in_flight", in_flight)
        self.worker = DeliveryWorker(
            self.store,
            self.outreach.senders,
            self.pacer,
            clock=self.services.clock,
            not_met_definitions=self.outreach.not_met_definitions,
            reporter=self.outreach.report,
            metrics=self.metrics,
            channel_pacers={"zalo": Pacer(settings.zalo_rate_per_min / 60.0)},
            extra_chat=extra,
            super_admins=self.super_admins,
            **worker_options,  # type: ignore[arg-type]
        )
        self.scheduler = Scheduler(settings.timezone)
        self.scheduler.start()
        self.outreach.scheduler = self.scheduler
        self.outreach.wake = self.worker.wake
        armed = await self.outreach.rearm()
        await self.worker.start()
        await self.services.reminders.start(self.scheduler)
        self._schedule_maintenance(self.scheduler)
        log.info("background: outbox running, %d scheduled announcements armed", armed)

    def _schedule_maintenance(self, scheduler: Scheduler) -> None:
        """Daily pruning at 03:00 local, and a backup at 02:00 when BACKUP_DIR is set."""
        settings = self.settings

        async def prune() -> None:
            await maintenance.prune(
                self.store, self.services.clock(), settings.delivery_retention_days
            )

        scheduler.daily("maintenance:prune", 3, 0, prune)

        async def digest() -> None:
            await notify_staff(self.services, settings.staff_chat_id)

        scheduler.every("inbox:digest", 60, digest)
        if settings.backup_dir is not None:
            folder = settings.backup_dir

            async def backup() -> None:
                await maintenance.daily_backup(
                    settings.database_path, folder, settings.backup_keep, self.services.clock()
                )

            scheduler.daily("maintenance:backup", 2, 0, backup)

    async def stop_background(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None

    async def close(self) -> None:
        await self.stop_background()
        await self.store.close()
