"""Wiring: the one place that knows all the parts.

`App.create(settings, role)` builds, in order: the catalog (a content error stops everything
before a file is opened), the store, the services, the router and its Dispatcher, then what the
role runs. Every part receives what it needs in its constructor; nothing is patched in later.
`start()` then starts the background work and the channels, `close()` stops them in the reverse
order and closes the database.

Which background work runs is decided here, by role:
- `Role.BOT` (`khuyenhoc run`): the configured messengers (Telegram, Zalo), the delivery worker
  for their deliveries, the timers (scheduled announcements, reminders, maintenance) and the web
  server (webhooks, /healthz, /metrics).
- `Role.CHAT` (`khuyenhoc chat`): the terminal; with `background`, a worker for the terminal's
  own deliveries and the timers, else nothing (the database is served by another process).
- `Role.COMMAND` (one CLI command, tests of services and handlers): no channel, no background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shutil
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from bot.catalog import Catalog, load_catalog
from bot.catalog.i18n import Translator
from bot.catalog.live import LiveCatalog
from bot.config import Settings
from bot.core.channel import Channel, Sender
from bot.core.context import Services
from bot.core.logs import hide
from bot.core.messages import Inbound
from bot.core.router import Dispatcher, Observer
from bot.core.signals import Signal
from bot.services import maintenance
from bot.services.ask import Answerer
from bot.services.assessment import AssessmentService
from bot.services.calendar import CalendarService
from bot.services.console import ConsoleService
from bot.services.content import ContentService, current_version, live_dir, versions_folder
from bot.services.exports_xlsx import ExportService
from bot.services.inbox import InboxService
from bot.services.linking import LinkService
from bot.services.members import MemberService
from bot.services.outreach import OutreachService
from bot.services.outreach.pacing import HEADROOM, Pacer
from bot.services.outreach.worker import DeliveryWorker
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.services.scheduling import Scheduler
from bot.services.staff import StaffService
from bot.store import Store
from bot.store.db import Clock, DatabaseUnreachable, DatabaseUnusable, utc_now
from bot.web.metrics import Metrics
from bot.web.pictures import PictureShelf
from bot.web.server import WebServer
from handlers import build_root_router

log = logging.getLogger(__name__)


class Role(StrEnum):
    BOT = "bot"
    CHAT = "chat"
    COMMAND = "command"


@dataclass(frozen=True)
class Tuning:
    """Timings of the background work; tests shorten them, production keeps the defaults."""

    flush_every: float = 0.1  # seconds between writes of delivery outcomes
    idle_poll: float = 1.0  # the worker looks for new work at least this often
    progress_every: float = 3.0  # the sender's progress message is edited at most this often
    backoff_base: float = 2.0  # first retry delay of a failed send, doubled each time
    poll_timeout: float = 10.0  # Telegram long polling
    read_timeout: float = 5.0  # Telegram calls
    outage_backoff_max: float = 15.0  # a down channel is asked again at least this often
    reply_patience: float = 180.0  # a reply to a member keeps trying through an outage this long
    content_poll: float = 5.0  # how often the bot looks for newly published content


@dataclass(frozen=True)
class Terminal:
    """Who sits at the terminal of `khuyenhoc chat`, and its streams (tests give their own)."""

    user: str
    stdin: TextIO | None = None
    stdout: TextIO | None = None
    pictures: Path | None = None  # where the pictures the bot sends are saved (else not kept)


class App:
    """The built parts of one process. Construct through `App.create`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        services: Services,
        dispatcher: Dispatcher,
        metrics: Metrics,
        health: Health,
        *,
        channels: Iterable[Channel] = (),
        scheduler: Scheduler | None = None,
        worker: DeliveryWorker | None = None,
        web: WebServer | None = None,
        leadership: Any = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.services = services
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.health = health
        self.channels = {channel.name: channel for channel in channels}
        self.scheduler = scheduler
        self.worker = worker
        self.web = web
        self.leadership = leadership  # bot.store.leader.Leadership: several instances only
        self._started: list[Channel] = []

    # -- building -------------------------------------------------------------------------------
    @classmethod
    async def create(
        cls,
        settings: Settings,
        role: Role = Role.COMMAND,
        *,
        clock: Clock = utc_now,
        catalog: Catalog | None = None,
        extra_admins: Iterable[tuple[str, str]] = (),
        terminal: Terminal | None = None,
        background: bool = True,
        tuning: Tuning = Tuning(),
    ) -> App:
        """Build every part this role needs. `background=False` (chat only) runs no worker and
        no timers: another process serves the database."""
        # Content already loaded (and so checked) is used as is until a version is published;
        # else the published version being served, or CONTENT_DIR when none is.
        folder = versions_folder(settings.database_path)
        if catalog is None:
            catalog = load_catalog(live_dir(folder, settings.content_dir))
        catalog = LiveCatalog(catalog.current, current_version(folder))
        runs_background = role is Role.BOT or (role is Role.CHAT and background)
        # Several instances on PostgreSQL share the outbox (leased rows, one rate for all) and
        # run the scheduled jobs on one of them, the leader (bot/store/leader.py).
        shared = settings.on_postgres and runs_background
        store = await Store.open(
            settings.database,
            clock,
            # The instances' claims together keep under the limit, with the Pacer's headroom.
            shared_rate=settings.broadcast_rate * HEADROOM if shared else None,
            lease_s=4 * settings.leader_lease_s,
        )
        metrics = Metrics()
        leadership = None
        if shared:
            from bot.store.leader import Leadership

            leadership = Leadership(store.db, settings.leader_lease_s)  # type: ignore[arg-type]
        scheduler = (
            Scheduler(settings.timezone, leadership.is_leader if leadership else None)
            if runs_background
            else None
        )
        wakeup = asyncio.Event() if runs_background else None
        super_admins = {("telegram", str(uid)) for uid in settings.admin_ids} | set(extra_admins)
        staff_changed = Signal("staff_changed")
        services = _services(
            settings, store, catalog, clock, super_admins, staff_changed, scheduler, wakeup
        )
        if scheduler is not None:  # content published by `khuyenhoc content publish`
            scheduler.every(
                "content:refresh", tuning.content_poll, services.content.refresh, everywhere=True
            )
        dispatcher = Dispatcher(
            build_root_router(),
            services,
            observers=[_observer(metrics, services.clock)],
            # On PostgreSQL other instances may be handling the same member right now: each
            # update waits for the member's turn (bot/store/turns.py); SQLite has no turns.
            turns=store.turns.turn if store.turns is not None else None,
        )
        pacer = (
            Pacer(
                settings.broadcast_rate,
                chat_interval=settings.chat_interval,
                group_interval=60.0 / settings.group_per_minute,
            )
            if runs_background
            else None
        )
        channels: list[Channel] = []
        pictures = PictureShelf(
            settings.database_path.parent / "pictures", settings.public_base_url
        )
        if role is Role.BOT:
            channels = await _messengers(
                settings, store, services, dispatcher, pacer, staff_changed, tuning, pictures
            )
        elif role is Role.CHAT:
            from bot.channels.console import ConsoleChannel

            terminal = terminal or Terminal("khach")
            channels = [
                ConsoleChannel(
                    dispatcher,
                    user=terminal.user,
                    stdin=terminal.stdin,
                    stdout=terminal.stdout,
                    pictures=terminal.pictures,
                )
            ]
        worker = None
        if runs_background:
            assert pacer is not None and wakeup is not None
            worker = _worker(settings, store, services, channels, pacer, wakeup, metrics, tuning)
        health = Health(store, scheduler, channels, metrics, worker, leadership=leadership)
        web = None
        if role is Role.BOT:
            from bot.web.console.site import ConsoleSite

            console = ConsoleSite(services, services.console)  # the staff console, /console
            web = WebServer(
                settings.http_host,
                settings.http_port,
                metrics=metrics,
                health=health,
                # Pictures by URL need the server as much as webhooks do: only when published.
                routes=[route for channel in channels for route in channel.routes()]
                + ([pictures.route()] if settings.public_base_url else []),
                pages=console.routes(),
            )
        log.info(
            "ready (%s): %d plans, %d assessments, %d areas, database %s",
            role,
            len(catalog.plans),
            len(catalog.definitions),
            len(catalog.areas),
            _described(settings),
        )
        return cls(
            settings,
            store,
            services,
            dispatcher,
            metrics,
            health,
            channels=channels,
            scheduler=scheduler,
            worker=worker,
            web=web,
            leadership=leadership,
        )

    @property
    def catalog(self) -> Catalog:
        """The content served right now (a published version replaces it while running)."""
        return self.services.catalog.current

    @property
    def outreach(self) -> OutreachService:
        return self.services.outreach

    # -- running --------------------------------------------------------------------------------
    async def start(self) -> None:
        """The web server (webhooks must be reachable before Telegram is told of them), the
        background work, then the channels."""
        if self.web is not None:
            try:
                await self.web.start()
            except OSError as exc:
                if self.web.routes:
                    raise  # the webhooks need the server
                log.error(
                    "http: cannot listen on %s:%s (%s); running without /healthz",
                    self.settings.http_host,
                    self.settings.http_port,
                    exc,
                )
        if self.scheduler is not None and self.worker is not None:
            if self.leadership is not None:
                await self.leadership.start()
            self.scheduler.start()
            armed = await self.outreach.rearm()
            await self.worker.start()
            await self.services.reminders.start(self.scheduler)
            self._schedule_maintenance(self.scheduler)
            log.info(
                "background: outbox for %s, %d scheduled announcements armed",
                ", ".join(self.worker.channels) or "no channel",
                armed,
            )
        for channel in self.channels.values():
            self._started.append(channel)  # closed at stop even if its start fails half-way
            await channel.start()

    async def stop(self) -> None:
        """No new updates; what is in flight finishes and is written down; then connections
        close. Safe to call twice."""
        for channel in self._started:
            await channel.stop()  # in-flight updates finish (they may still send)
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.worker is not None:
            await self.worker.stop()  # in-flight deliveries finish and are written down
        if self.leadership is not None:
            await self.leadership.stop()  # another instance takes the jobs over at once
        if self.web is not None:
            await self.web.stop()
        for channel in reversed(self._started):
            await channel.close()
        self._started.clear()

    async def close(self) -> None:
        await self.stop()
        await self.store.close()

    def _schedule_maintenance(self, scheduler: Scheduler) -> None:
        """Daily pruning at 03:00 local, the staff digest of new questions, and a backup at
        02:00 when BACKUP_DIR is set."""
        settings, clock = self.settings, self.services.clock

        async def prune() -> None:
            await maintenance.prune(self.store, clock(), settings.delivery_retention_days)
            await self.services.console.prune()  # ended console sessions, spent login links

        scheduler.daily("maintenance:prune", 3, 0, prune)

        scheduler.every("inbox:digest", 60, self.services.inbox.notify_staff)
        if settings.backup_dir is not None:
            folder = settings.backup_dir

            async def backup() -> None:
                if settings.database_url is not None:  # PostgreSQL: pg_dump's custom format
                    from bot.store.copy import daily_dump

                    await daily_dump(settings.database_url, folder, settings.backup_keep, clock())
                    return
                await maintenance.daily_backup(
                    settings.database_path, folder, settings.backup_keep, clock()
                )

            scheduler.daily("maintenance:backup", 2, 0, backup)


def _observer(metrics: Metrics, clock: Clock) -> Observer:
    """What the Dispatcher reports after each update: counted for /metrics, and when each
    channel last had one, for /healthz."""

    def observe(inbound: Inbound, seconds: float, failed: bool) -> None:
        metrics.observe_update(inbound.channel, inbound.kind, seconds, failed)
        metrics.last_update[inbound.channel] = clock()

    return observe


# Below this much free space on the database's disk /healthz is red: SQLite's log, the nightly
# backup and the exports need room, and a write that cannot grow the file fails.
MIN_FREE_BYTES = 16 * 1024 * 1024


class Health:
    """What /healthz reports: ok only when the database answers, the scheduler runs and every
    channel's own checks hold (Telegram polling ends for good when the token is rejected), and no
    channel's platform is down for the outbox (`<channel>_api`: "up", or "down since ...")."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler | None,
        channels: Iterable[Channel],
        metrics: Metrics,
        worker: DeliveryWorker | None = None,
        min_free_bytes: int = MIN_FREE_BYTES,
        *,
        leadership: Any = None,
    ) -> None:
        self._store = store
        self._leadership = leadership
        self.min_free_bytes = min_free_bytes
        self._worker = worker  # knows which channels' platforms do not answer
        self._scheduler = scheduler
        self._channels = list(channels)
        self._metrics = metrics
        metrics.before_scrape(self._refresh_gauges)

    async def _refresh_gauges(self) -> None:
        self._metrics.outbox_depth.set(await self._store.deliveries.backlog())
        for channel in self._channels:
            for name, value in channel.counters().items():
                self._metrics.channel_counters.labels(channel.name, name).set(value)

    async def __call__(self) -> dict[str, Any]:
        report: dict[str, Any] = {"ok": True}
        try:
            # Reads still work under another program's lock or on a full disk: only a write
            # (and the free space) tells whether members' answers can be stored.
            problem = await self._store.db.unwritable() or self._disk_problem()
            if problem is None:
                report["outbox_backlog"] = await self._store.deliveries.backlog()
            report["database"] = problem or "ok"
            report["database_kind"] = self._store.db.kind
            # Which instance runs the scheduled jobs; one process alone on SQLite always does.
            leader = self._leadership is None or self._leadership.is_leader()
            report["role"] = "leader" if leader else "follower"
            report["ok"] = problem is None
        except Exception as exc:  # the point is to report it, whatever it is
            report["database"] = f"error: {type(exc).__name__}"
            report["ok"] = False
        running = self._scheduler is not None and self._scheduler.running
        report["scheduler"] = "running" if running else "stopped"
        report["ok"] = report["ok"] and running
        for channel in self._channels:
            for name, healthy in channel.health().items():
                report[name] = "running" if healthy else "stopped"
                report["ok"] = report["ok"] and healthy
        if self._worker is not None:
            down = self._worker.down()
            for name in self._worker.channels:
                since = down.get(name)
                report[f"{name}_api"] = (
                    f"down since {since.isoformat(timespec='seconds')}" if since else "up"
                )
            report["ok"] = report["ok"] and not down
        report["last_update"] = {
            channel: moment.isoformat(timespec="seconds")
            for channel, moment in self._metrics.last_update.items()
        }
        return report

    def _disk_problem(self) -> str | None:
        """ "disk nearly full" when the database's disk has less than `min_free_bytes` left."""
        path = self._store.db.path
        if path is None or str(path) == ":memory:":  # PostgreSQL: the server's own disk
            return None
        free = shutil.disk_usage(path.parent).free
        if free >= self.min_free_bytes:
            return None
        return f"disk nearly full: {free // (1024 * 1024)} MiB free"


def _services(
    settings: Settings,
    store: Store,
    catalog: LiveCatalog,
    clock: Clock,
    super_admins: set[tuple[str, str]],
    staff_changed: Signal,
    scheduler: Scheduler | None,
    wakeup: asyncio.Event | None,
    content: ContentService | None = None,
) -> Services:
    """The services on `catalog`; a staffer's preview of a draft gets its own set on the draft,
    sharing the store and the one `content` service, with no timers."""

    def preview(draft: Catalog) -> Services:
        return _services(
            settings, store, LiveCatalog(draft, -1), clock, super_admins, staff_changed,
            None, None, content,
        )  # fmt: skip

    if content is None:
        content = ContentService(
            versions_folder(settings.database_path),
            settings.content_dir,
            catalog,
            store,
            clock=lambda: clock().astimezone(settings.timezone),
            preview=preview,
        )
    i18n = Translator(catalog)
    outreach = OutreachService(
        store,
        catalog,
        i18n,
        clock=clock,
        timezone=settings.timezone,
        paid=settings.paid_broadcast,
        super_admins=super_admins,
        scheduler=scheduler,
        wake=wakeup.set if wakeup is not None else None,
    )
    reminders = ReminderService(
        store,
        catalog,
        i18n,
        outreach,
        clock=clock,
        timezone=settings.timezone,
        quiet=(settings.quiet_start, settings.quiet_end),
    )
    staff = StaffService(store, super_admins, staff_changed)
    return Services(
        catalog=catalog,
        i18n=i18n,
        settings=settings,
        clock=clock,
        assessments=AssessmentService(store, catalog),
        outreach=outreach,
        reminders=reminders,
        calendar=CalendarService(store, catalog, reminders),
        reports=ReportService(store, catalog, settings.timezone),
        answerer=Answerer(catalog),
        members=MemberService(store),
        staff=staff,
        exports=ExportService(store, catalog, i18n, settings.timezone),
        content=content,
        inbox=InboxService(
            store,
            i18n,
            outreach,
            staff,
            clock=clock,
            timezone=settings.timezone,
            quiet_hours=reminders.in_quiet_hours,  # the members' quiet hours are staff's too
            staff_chat=settings.staff_chat_id,
        ),
        console=ConsoleService(
            store,
            staff,
            clock=clock,
            base_url=settings.public_base_url,
            session_hours=settings.console_session_hours,
        ),
        linking=LinkService(store, clock=clock),
    )


async def _messengers(
    settings: Settings,
    store: Store,
    services: Services,
    dispatcher: Dispatcher,
    pacer: Pacer | None,
    staff_changed: Signal,
    tuning: Tuning,
    pictures: PictureShelf,
) -> list[Channel]:
    """The messengers the settings configure, each optional: Telegram (polling, or a webhook),
    Zalo OA, Zalo Bot Platform (polling, or a webhook)."""
    channels: list[Channel] = []
    if settings.telegram_bot_token:
        from bot.channels.telegram import Patience, TelegramChannel, Webhook

        webhook = None
        if settings.webhook_url:
            secret = settings.webhook_secret or await store.meta.secret("webhook_secret")
            hide(secret)  # a generated one lives in the database: mask it too
            webhook = Webhook(settings.webhook_url, secret)
        channels.append(
            TelegramChannel.build(
                dispatcher,
                settings.telegram_bot_token,
                settings.telegram_api_url,
                store.inbound,
                webhook=webhook,
                pacing=pacer,
                staff_changed=staff_changed,
                read_timeout=tuning.read_timeout,
                poll_timeout=tuning.poll_timeout,
                patience=Patience(
                    tuning.reply_patience,
                    first=tuning.backoff_base / 2,
                    longest=tuning.outage_backoff_max / 2,
                ),
            )
        )
    if settings.zalo_enabled:
        from bot.channels.zalo import ZaloChannel, ZaloClient

        channels.append(ZaloChannel(dispatcher, ZaloClient(settings, store.meta), settings))
    if settings.zalo_bot_token:
        from bot.channels.zalobot import ZaloBotChannel, ZaloBotClient, ZaloBotWebhook

        outreach = services.outreach

        async def alert(what: str) -> None:
            await outreach.alert_staff(f"zalobot.alert.{what}")

        zalobot_webhook = (
            ZaloBotWebhook(settings.zalo_bot_webhook_url, settings.zalo_bot_webhook_secret)
            if settings.zalo_bot_webhook_url and settings.zalo_bot_webhook_secret
            else None
        )
        channels.append(
            ZaloBotChannel(
                dispatcher,
                ZaloBotClient(
                    settings.zalo_bot_token,
                    settings.zalo_bot_api_url,
                    read_timeout=tuning.read_timeout * 2,
                ),
                webhook=zalobot_webhook,
                pictures=pictures,
                pacing=pacer,
                alert=alert,
                poll_timeout=tuning.poll_timeout,
                retry_first=tuning.backoff_base / 2,
                retry_longest=tuning.outage_backoff_max,
                patience=tuning.reply_patience,
            )
        )
    return channels


def _worker(
    settings: Settings,
    store: Store,
    services: Services,
    channels: list[Channel],
    pacer: Pacer,
    wakeup: asyncio.Event,
    metrics: Metrics,
    tuning: Tuning,
) -> DeliveryWorker:
    senders: dict[str, Sender] = {channel.name: channel.sender for channel in channels}
    extra = ("telegram", settings.announce_chat_id) if settings.announce_chat_id else None
    # Enough sends in flight to keep the rate through a 300 ms round trip, no more: what is in
    # flight is what a crash may send twice. At most 192: the Telegram connection pool (256)
    # also carries the answers to chatting members and the progress messages, and a send
    # waiting for a connection goes out late, bunched with others (429s at 1,000/s).
    in_flight = min(192, max(16, math.ceil(settings.broadcast_rate * 0.3)))
    outreach = services.outreach
    return DeliveryWorker(
        store,
        senders,
        pacer,
        clock=services.clock,
        not_met_definitions=outreach.not_met_definitions,
        report_text=outreach.report_text,
        wakeup=wakeup,
        metrics=metrics,
        channel_pacers={
            "zalo": Pacer(settings.zalo_rate_per_min / 60.0),
            "zalobot": Pacer(settings.zalo_bot_rate, chat_interval=settings.chat_interval),
        },
        extra_chat=extra,
        super_admins=set(outreach.super_admins),
        max_in_flight=in_flight,
        flush_every=tuning.flush_every,
        idle_poll=tuning.idle_poll,
        progress_every=tuning.progress_every,
        backoff_base=tuning.backoff_base,
        outage_backoff_max=tuning.outage_backoff_max,
    )


def _described(settings: Settings) -> str:
    """The database for a log line: the file, or the PostgreSQL URL without its password."""
    if settings.database_url is None:
        return str(settings.database_path)
    from bot.store.pg import safe_url

    return safe_url(settings.database_url)


# -- processes ------------------------------------------------------------------------------------
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 78  # 78: EX_CONFIG, the unit does not restart on it


def run_bot(settings: Settings) -> int:
    """`khuyenhoc run`: every configured channel in one process behind one HTTP server, holding
    the database's run lock; a graceful stop on SIGINT/SIGTERM."""
    if settings.on_postgres:  # several instances share a PostgreSQL database: no file lock
        return asyncio.run(serve(settings))
    try:
        with maintenance.RunLock(settings.database_path):
            return asyncio.run(serve(settings))
    except maintenance.DatabaseInUse as exc:
        log.error("%s: another khuyenhoc process is using it", exc)
        return EXIT_FAILED


async def serve(settings: Settings, *, stop: asyncio.Event | None = None, **options: Any) -> int:
    """Build the bot, start it, wait for `stop` (or a signal), stop gracefully."""
    from bot.catalog import ContentInvalid
    from bot.core.channel import ChannelRefused

    try:
        app = await App.create(settings, Role.BOT, **options)
    except DatabaseUnreachable as exc:  # PostgreSQL down, maybe for now: worth a restart
        log.error("%s", exc)
        return EXIT_FAILED
    except (ContentInvalid, DatabaseUnusable) as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Starting may wait for a network that is down; a stop signal must still end it.
        starting = asyncio.create_task(app.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a refused token or a port taken: raised here
            await stop.wait()
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        stopping.cancel()
        log.info("stopping: finishing in-flight work")
    except ChannelRefused as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await app.close()
    log.info("stopped")
    return EXIT_OK


async def chat(
    settings: Settings,
    terminal: Terminal,
    *,
    admin: bool = False,
    started: Callable[[bool], None] | None = None,
    catalog: Catalog | None = None,
) -> int:
    """`khuyenhoc chat`: the conversations in the terminal. Background work (the terminal's own
    deliveries, the timers) runs only while no other khuyenhoc process holds the database;
    `started` is told which, before the first line is read (the CLI says it to the person)."""
    from bot.catalog import ContentInvalid
    from bot.channels.console import CHANNEL, ConsoleChannel

    lock = maintenance.RunLock(settings.database_path)
    try:
        lock.acquire()
        background = True
    except maintenance.DatabaseInUse:
        background = False
    log.info(
        "chat: database %s; %s",
        settings.database_path,
        "announcements to this terminal are sent here"
        if background
        else "another khuyenhoc process serves it, so this chat runs no background work",
    )
    try:
        app = await App.create(
            settings,
            Role.CHAT,
            terminal=terminal,
            background=background,
            extra_admins=[(CHANNEL, terminal.user)] if admin else [],
            catalog=catalog,
        )
    except ContentInvalid as exc:
        lock.release()
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    try:
        await app.start()
        if started is not None:
            started(background)
        console = app.channels[CHANNEL]
        assert isinstance(console, ConsoleChannel)
        await console.run()
    finally:
        await app.close()
        lock.release()
    return EXIT_OK
