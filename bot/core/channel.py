"""How the outbox reaches a member: the `Sender` protocol each channel implements.

A sender turns platform errors into `DeliveryError` kinds the worker knows how to treat, so the
worker never imports a messenger library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


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


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str
    photo_file_id: str | None = None  # a platform id for an uploaded photo, to reuse it


class Sender(Protocol):
    """One channel's way to put an announcement in front of a member."""

    channel: str

    async def deliver(
        self,
        chat_id: str,
        html: str,
        *,
        photo: str | bytes | None = None,
        paid: bool = False,
    ) -> Sent: ...

    async def edit(self, chat_id: str, message_id: str, html: str) -> None: ...
