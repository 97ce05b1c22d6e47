"""A signal: parts that must hear of a change connect to it when they are built; the part that
makes the change sends it. It keeps the sender ignorant of who listens (a service never imports a
channel) and lets `bot.app` wire both in their constructors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Receiver = Callable[..., Awaitable[None]]


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> None:
        self._receivers.append(receiver)

    async def send(self, *args: Any) -> None:
        """Call every receiver in turn; one failing is logged and does not stop the others."""
        for receiver in self._receivers:
            try:
                await receiver(*args)
            except Exception:
                log.exception("signal %s: a receiver failed", self.name)
