"""Wiring: the one place that knows all the parts. Builds the store, the catalog, the services and
the router, and hands the channels a ready `Dispatcher`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.assessment import AssessmentService
from bot.catalog import Catalog, load_catalog
from bot.config import Settings
from bot.core.context import Services
from bot.core.router import Dispatcher
from bot.i18n import Translator
from bot.store import Store, User
from bot.store.db import Clock, utc_now
from handlers import build_root_router

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    catalog: Catalog
    services: Services
    dispatcher: Dispatcher
    admins: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        extra_admins: Iterable[tuple[str, str]] = (),
    ) -> App:
        """Load content first (a content error must stop start-up before anything is opened)."""
        catalog = load_catalog(settings.content_dir)
        store = await Store.open(settings.database_path, clock)
        services = Services(
            store=store,
            catalog=catalog,
            i18n=Translator(catalog),
            settings=settings,
            clock=clock,
            assessments=AssessmentService(store, catalog),
        )
        admins = {("telegram", str(uid)) for uid in settings.admin_ids} | set(extra_admins)

        def is_admin(user: User) -> bool:
            return (user.channel, user.external_id) in admins

        dispatcher = Dispatcher(build_root_router(), services, is_admin)
        log.info(
            "ready: %d plans, %d areas, database %s",
            len(catalog.plans),
            len(catalog.areas),
            settings.database_path,
        )
        return cls(settings, store, catalog, services, dispatcher, admins)

    async def close(self) -> None:
        await self.store.close()
