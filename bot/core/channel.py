"""The contract between the kernel and a messenger: the `Channel` and `Sender` protocols.

A channel (Telegram, Zalo, the terminal) turns platform updates into `Inbound` for the
Dispatcher and `Reply` objects into platform calls; it is started and stopped by `bot.app`, and
tells the one web server which webhook routes it needs. Its `Sender` is how the outbox reaches a
member: it turns platform errors into `DeliveryError` kinds the worker knows how to treat, so no
service ever imports a messenger library. What a channel needs from the rest (the dispatcher, a
place for its tokens, the rate limiter) it is given in its constructor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol


class Failure(StrEnum):
    RETRY_AFTER = "retry_after"  # flood limit: wait `retry_after` seconds, then go on
    BLOCKED = "blocked"  # the member blocked the bot or the account is gone: never retry
    NOT_FOUND = "not_found"  # no such chat: never retry
    TRANSIENT = "transient"  # 5xx, timeout, connection: retry with backoff
    PERMANENT = "permanent"  # anything else the platform refuses: do not retry
    UNREACHABLE = "unreachable"  # the platform's rules forbid messaging this member now: skip


class DeliveryError(Exception):
    def __init__(self, kind: Failure, detail: str, retry_after: float = 0.0) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


class ChannelRefused(Exception):
    """The platform refused the channel's configuration (e.g. a revoked bot token): starting
    again cannot help until someone changes the settings. The message is safe to print."""


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str
    photo_file_id: str | None = None  # a platform id for an uploaded photo, to reuse it


class Sender(Protocol):
    """One channel's way to put an announcement in front of a member."""

    channel: str
    # How long after a member's last message the platform still lets the bot write to them
    # (Zalo OA: 7 days); None when there is no such window.
    reach_window: timedelta | None

    async def deliver(
        self,
        chat_id: str,
        html: str,
        *,
        photo: str | bytes | None = None,
        paid: bool = False,
    ) -> Sent: ...

    async def edit(self, chat_id: str, message_id: str, html: str) -> None: ...

    async def probe(self) -> None:
        """Does the platform answer at all? Raises a TRANSIENT `DeliveryError` when it does not
        (the outbox then waits for it); returns when it does, or when there is nothing to ask."""
        ...


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP endpoint a channel needs on the web server (its webhook)."""

    method: str
    path: str
    handler: Callable[[Any], Awaitable[Any]]  # aiohttp request -> response


class Channel(Protocol):
    """A messenger behind the kernel. `bot.app` builds it, mounts its routes, then calls
    `start`; at shutdown `stop` (no new updates; in-flight ones finish and may still send), and,
    once nothing sends any more, `close` (connections freed)."""

    name: str
    sender: Sender

    def routes(self) -> list[Route]: ...

    def health(self) -> dict[str, bool]:
        """Named checks for /healthz (e.g. `telegram_polling`: is it still running)."""
        ...

    def counters(self) -> dict[str, int]:
        """Running totals for /metrics (e.g. `updates_dropped` of a member's flood)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def close(self) -> None: ...


class Pacing(Protocol):
    """What a channel tells the outbox's rate limiter: a member is chatting in this chat, so
    the replies to them go ahead of bulk sends."""

    def note_interactive(self, chat_id: str) -> None: ...


class PictureHost(Protocol):
    """The bot's own web server, serving pictures (charts, QR codes) under unguessable URLs, for
    platforms that take a photo by URL only (Zalo Bot Platform)."""

    async def publish(self, data: bytes, name: str) -> str | None:
        """The picture's public URL, valid for a day; None when the server has no public
        address (PUBLIC_BASE_URL unset)."""
        ...


class Vault(Protocol):
    """Small named values a channel keeps across restarts (Zalo's rotating token pair)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class InboundLog(Protocol):
    """Updates a channel has taken from its platform but not yet handled, kept so a crash loses
    none once the platform has been told to forget them; the next start handles them."""

    async def keep(self, channel: str, updates: Sequence[tuple[int, str]]) -> None: ...

    async def release(self, channel: str, update_ids: Sequence[int]) -> None: ...

    async def pending(self, channel: str) -> list[str]: ...
