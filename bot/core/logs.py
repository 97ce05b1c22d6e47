"""Logging set-up: one line per event, as text or JSON (`LOG_FORMAT=json`), no personal data and
no secret.

Log lines name members by a pseudonym (their database number, or a salted hash of their platform
id): never a phone number, chat id or name, unless `LOG_LEVEL=DEBUG` asks for them while
troubleshooting. Every configured secret (the bot token, app secrets, access tokens) is masked in
every line, whichever library wrote it and at every level: a Bot API URL carries the token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

_SALT = secrets.token_hex(8)  # per process: stable within a run, unlinkable across runs


def member_ref(inbound: Any) -> str:
    """A member as log lines may name them."""
    if logging.getLogger("bot").isEnabledFor(logging.DEBUG):
        return f"{inbound.channel}:{inbound.user_id}"
    digest = hashlib.sha256(f"{_SALT}:{inbound.channel}:{inbound.user_id}".encode()).hexdigest()
    return f"m-{digest[:10]}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def mask(secret: str) -> str:
    """How a secret appears in a log line: a bot token keeps its public bot id (`123456:***`)."""
    head, sep, _ = secret.partition(":")
    return f"{head}:***" if sep and head.isdigit() else "***"


_secrets: list[str] = []  # every secret this process knows, longest first


def hide(secret: str | None) -> None:
    """Mask `secret` in every log line from now on. The settings' secrets are hidden at start;
    a part that learns one later (a rotated Zalo token, a generated webhook secret) hides it."""
    if secret and len(secret) >= 6 and secret not in _secrets:
        _secrets.append(secret)
        # Longest first, so a secret containing another is masked whole.
        _secrets.sort(key=len, reverse=True)


class Redacting(logging.Formatter):
    """Formats with `inner`, then masks every hidden secret in the finished line (message,
    arguments and traceback alike)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self._inner.format(record)
        for secret in _secrets:
            if secret in line:
                line = line.replace(secret, mask(secret))
        return line


def configure(level: str, fmt: str = "text", secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    inner = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    for secret in secrets or []:
        hide(secret)
    handler.setFormatter(Redacting(inner))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter stays out below WARNING: httpx's URLs carry the bot token, and aiosqlite
    # logs every statement with its parameters (members' answers and names).
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler",
        "aiohttp.access",
        "telegram.ext.Updater",
        "aiosqlite",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
