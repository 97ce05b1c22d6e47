"""Prometheus metrics, one registry per running bot (so tests can run several side by side).

Counters are fed by the dispatcher (updates, handler latency), the delivery worker (outcomes,
429s, retries) and the Zalo/Telegram token code; gauges that describe the database (outbox depth)
are read at scrape time, so they are never stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "khuyenhoc_updates",
            "Inbound updates by channel and kind",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "khuyenhoc_handler_seconds",
            "Time from update in to replies ready",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "khuyenhoc_handler_errors", "Updates whose handler raised", registry=self.registry
        )
        self.deliveries = Counter(
            "khuyenhoc_deliveries", "Delivery outcomes", ["status"], registry=self.registry
        )
        self.throttled = Counter(
            "khuyenhoc_throttled",
            "429 answers (flood limits) from the platform",
            registry=self.registry,
        )
        self.retries = Counter(
            "khuyenhoc_delivery_retries",
            "Deliveries put back for another attempt",
            registry=self.registry,
        )
        self.token_refreshes = Counter(
            "khuyenhoc_token_refreshes",
            "Access token refreshes",
            ["channel"],
            registry=self.registry,
        )
        self.channel_counters = Gauge(
            "khuyenhoc_channel",
            "Channels' running totals (updates_dropped: a member's flood beyond the bound)",
            ["channel", "counter"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "khuyenhoc_outbox_depth", "Deliveries pending or in flight", registry=self.registry
        )
        self._before_scrape: list[Callable[[], Awaitable[None]]] = []
        self.last_update: dict[str, datetime] = {}  # channel -> time of its last update (health)

    def observe_update(self, channel: str, kind: str, seconds: float, failed: bool) -> None:
        self.updates.labels(channel, kind).inc()
        self.handler_seconds.observe(seconds)
        if failed:
            self.handler_errors.inc()

    def before_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        self._before_scrape.append(refresh)

    async def render(self) -> bytes:
        for refresh in self._before_scrape:
            await refresh()
        return generate_latest(self.registry)
