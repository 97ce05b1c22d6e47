"""Logging set-up: one line per event, as text or JSON (`LOG_FORMAT=json`), and no personal data.

Log lines name members by a pseudonym (their database number, or a salted hash of their platform
id): never a phone number, chat id or name, unless `LOG_LEVEL=DEBUG` asks for them while
troubleshooting.
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


def configure(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter (and, for httpx, URLs that carry the bot token) stays out below WARNING.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
