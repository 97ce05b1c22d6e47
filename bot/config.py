"""Settings: the one place that reads the environment (and the home's optional `.env` file).

Every setting is typed and validated here, so a bad value stops start-up with a message that names
the variable instead of failing later somewhere deep inside the bot. Relative paths are resolved
against the home folder (bot/home.py), never against the folder a command is typed in.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.home import ENV_FILE, HomeError, bundled_content, find_home

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_ZALO_BOT_API_URL = "https://bot-api.zaloplatforms.com"
# Zalo Bot Platform publishes no rate limit, only 429s: start slow until measured on a real bot.
DEFAULT_ZALO_BOT_RATE = 5.0
FREE_RATE_LIMIT = 30.0  # Telegram: about 30 messages a second for a bot
PAID_RATE_LIMIT = 1000.0  # with paid broadcasts
_INTEGER = re.compile(r"-?[0-9]{1,20}")  # ASCII digits: str.isdigit() also takes "²"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    database_path: Path = Path("data/khuyenhoc.sqlite3")
    # Set: the PostgreSQL database (postgresql://user@host:port/db) instead of the SQLite file,
    # for several bot instances sharing the work; DATABASE_PATH's folder still holds local files.
    database_url: str | None = None
    # Several instances on PostgreSQL: the scheduled jobs run on one (the leader); when it dies,
    # another takes over within this many seconds. Outbox rows are leased for 4 times as long.
    leader_lease_s: float = 15.0
    content_dir: Path = Path("content")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    log_level: str = "INFO"
    log_format: str = "text"  # text | json
    broadcast_rate: float = 25.0  # bulk messages per second, overall
    paid_broadcast: bool = False  # Telegram paid broadcasts: up to 1,000/s, charged in Stars
    chat_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_minute: float = 20.0  # messages a minute to one group or channel
    announce_chat_id: str | None = None  # a channel/group that receives public announcements
    staff_chat_id: str | None = None  # a Telegram group where staff get new-question digests
    approval_threshold: int = 200  # a branch broadcast to more members waits for a city admin
    webhook_url: str | None = None  # set: Telegram webhook mode instead of polling
    webhook_secret: str | None = None  # default: generated once and kept in the database
    http_host: str = "127.0.0.1"  # the HTTP server (webhooks, /healthz, /metrics)
    http_port: int = 8080
    backup_dir: Path | None = None  # set: a daily backup at 02:00 local
    backup_keep: int = 7
    delivery_retention_days: int = 180
    zalo_app_id: str | None = None  # Zalo Official Account: all of the ZALO_* below, or none
    zalo_app_secret: str | None = None  # OAuth secret_key of the app
    zalo_oa_secret_key: str | None = None  # the OA secret key (webhook signature)
    zalo_access_token: str | None = None  # the first token pair; rotated pairs live in the DB
    zalo_refresh_token: str | None = None
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_buttons: bool = True  # off: choices are numbered and answered with the number
    zalo_webhook_path: str = "/zalo"
    zalo_rate_per_min: float = 4000.0
    zalo_bot_token: str | None = None  # Zalo Bot Platform: "<numeric bot id>:<secret>"
    zalo_bot_api_url: str = DEFAULT_ZALO_BOT_API_URL
    zalo_bot_webhook_url: str | None = None  # set: webhook instead of long polling
    zalo_bot_webhook_secret: str | None = None  # 8-256 characters, required with the URL
    zalo_bot_rate: float = DEFAULT_ZALO_BOT_RATE  # bulk messages per second to the Bot Platform
    quiet_start: time = time(21, 0)  # personal reminders wait between these local times
    quiet_end: time = time(7, 0)
    # The https address where the bot's HTTP server is reached: console links, pictures by URL.
    public_base_url: str | None = None
    console_session_hours: int = 12  # how long a console sign-in lasts
    home: Path | None = None  # the folder relative paths were resolved against

    def secrets(self) -> list[str]:
        """Every configured secret, for the log formatter to mask."""
        values = (
            self.telegram_bot_token,
            self.webhook_secret,
            self.zalo_app_secret,
            self.zalo_oa_secret_key,
            self.zalo_access_token,
            self.zalo_refresh_token,
            self.zalo_bot_token,
            self.zalo_bot_webhook_secret,
            self.database_password,
        )
        return [value for value in values if value]

    @property
    def database_password(self) -> str | None:
        """The password in DATABASE_URL, if any (masked in logs like every secret)."""
        if self.database_url is None:
            return None
        from urllib.parse import unquote, urlsplit

        password = urlsplit(self.database_url).password
        return unquote(password) if password else None

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id)

    @property
    def database(self) -> Path | str:
        """What the store opens: the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def on_postgres(self) -> bool:
        return self.database_url is not None

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        env_file: Path | None = None,
        home: Path | None = None,
    ) -> Settings:
        """Read settings from `environ` (default: the process environment) over the home's `.env`.

        `home` is the folder given with --home; without it the home is found as bot/home.py says.
        The real environment wins over the file, as usual for twelve-factor apps.
        """
        environ = os.environ if environ is None else environ
        try:
            folder = find_home(home, environ)
        except HomeError as exc:
            raise ConfigError(exc.source, exc.problem) from None
        values: dict[str, str] = {}
        file = env_file if env_file is not None else folder / ENV_FILE
        if file.is_file():
            values.update({k: v for k, v in dotenv_values(file).items() if v is not None})
        values.update(environ)
        return cls.from_mapping(values, home=folder)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], home: Path | None = None) -> Settings:
        """Settings from `env`; relative paths are taken from `home` (default: the current one)."""
        home = Path.cwd() if home is None else home

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        token = get("TELEGRAM_BOT_TOKEN")
        if token is not None and (":" not in token or not token.split(":", 1)[0].isdigit()):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN", "expected the form 123456789:ABC... given by @BotFather"
            )

        api_url = get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(
                "TELEGRAM_API_URL", f"must start with http:// or https://: {api_url!r}"
            )

        admin_ids: set[int] = set()
        for part in (get("ADMIN_IDS") or "").split(","):
            part = part.strip()
            if not part:
                continue
            if not _INTEGER.fullmatch(part):
                raise ConfigError("ADMIN_IDS", f"not a numeric Telegram user id: {part!r}")
            admin_ids.add(int(part))

        tz_name = get("TIMEZONE") or "Asia/Ho_Chi_Minh"
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError("TIMEZONE", f"unknown time zone {tz_name!r}") from exc

        level = (get("LOG_LEVEL") or "INFO").upper()
        if level not in LOG_LEVELS:
            raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")

        log_format = (get("LOG_FORMAT") or "text").lower()
        if log_format not in ("text", "json"):
            raise ConfigError("LOG_FORMAT", "must be text or json")
        paid = _flag(get("PAID_BROADCAST"), "PAID_BROADCAST")
        limit = PAID_RATE_LIMIT if paid else FREE_RATE_LIMIT
        rate = _number(get("BROADCAST_RATE"), "BROADCAST_RATE", limit if paid else 25.0)
        if not 0 < rate <= limit:
            why = "" if paid else " (set PAID_BROADCAST=1 for more)"
            raise ConfigError("BROADCAST_RATE", f"must be above 0 and at most {limit:g}{why}")
        chat_interval = 1.0 / _number(get("CHAT_RATE"), "CHAT_RATE", 1.0)
        group_per_minute = _number(get("GROUP_RATE_PER_MINUTE"), "GROUP_RATE_PER_MINUTE", 20.0)
        announce_chat = get("ANNOUNCE_CHAT_ID")
        if announce_chat is not None and not (
            _INTEGER.fullmatch(announce_chat) or announce_chat.startswith("@")
        ):
            raise ConfigError("ANNOUNCE_CHAT_ID", "a numeric chat id or an @channel name")

        quiet = get("QUIET_HOURS") or "21:00-07:00"
        match = re.match(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$", quiet)
        if match is None or int(match[1]) > 23 or int(match[3]) > 23 or int(match[2]) > 59:
            raise ConfigError("QUIET_HOURS", f'expected "21:00-07:00", got {quiet!r}')
        quiet_start, quiet_end = (
            time(int(match[1]), int(match[2])),
            time(int(match[3]), int(match[4])),
        )

        webhook_url = get("WEBHOOK_URL")
        if webhook_url is not None and not webhook_url.startswith("https://"):
            raise ConfigError("WEBHOOK_URL", "Telegram only calls https:// addresses")
        webhook_secret = get("WEBHOOK_SECRET")
        if webhook_secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret):
            raise ConfigError("WEBHOOK_SECRET", "1-256 characters: A-Z, a-z, 0-9, _ and -")
        port = _whole(get("WEBHOOK_PORT"), "WEBHOOK_PORT", 8080)
        if port > 65535:
            raise ConfigError("WEBHOOK_PORT", "a TCP port, 1-65535")
        backup_dir = get("BACKUP_DIR")
        keep = _whole(get("BACKUP_KEEP"), "BACKUP_KEEP", 7)
        retention = _whole(get("DELIVERY_RETENTION_DAYS"), "DELIVERY_RETENTION_DAYS", 180)

        zalo_required = (
            "ZALO_APP_ID",
            "ZALO_APP_SECRET",
            "ZALO_OA_SECRET_KEY",
            "ZALO_ACCESS_TOKEN",
            "ZALO_REFRESH_TOKEN",
        )
        zalo = {name: get(name) for name in zalo_required}
        if any(zalo.values()) and not all(zalo.values()):
            missing = next(name for name, value in zalo.items() if not value)
            raise ConfigError(missing, "the Zalo channel needs every ZALO_* secret (see README)")
        zalo_path = get("ZALO_WEBHOOK_PATH") or "/zalo"
        if not zalo_path.startswith("/"):
            raise ConfigError("ZALO_WEBHOOK_PATH", "a path starting with /")
        for name in ("ZALO_API_URL", "ZALO_OAUTH_URL"):
            value = get(name)
            if value is not None and not value.startswith(("http://", "https://")):
                raise ConfigError(name, "must start with http:// or https://")

        session_hours = _whole(get("CONSOLE_SESSION_HOURS"), "CONSOLE_SESSION_HOURS", 12)
        public_url = get("PUBLIC_BASE_URL")
        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise ConfigError("PUBLIC_BASE_URL", "must start with https:// (or http:// on a LAN)")
        zalobot = _zalo_bot(get)

        db = home / Path(get("DATABASE_PATH") or "data/khuyenhoc.sqlite3").expanduser()
        database_url = get("DATABASE_URL")
        if database_url is not None and not database_url.startswith(
            ("postgresql://", "postgres://")
        ):
            raise ConfigError("DATABASE_URL", "a postgresql://user@host:port/database URL")
        content_path = _content_dir(get("CONTENT_DIR"), home)

        return cls(
            telegram_bot_token=token,
            telegram_api_url=api_url,
            admin_ids=frozenset(admin_ids),
            database_path=db,
            database_url=database_url,
            leader_lease_s=_number(get("LEADER_LEASE_S"), "LEADER_LEASE_S", 15.0),
            content_dir=content_path,
            timezone=tz,
            log_level=level,
            log_format=log_format,
            broadcast_rate=rate,
            paid_broadcast=paid,
            chat_interval=chat_interval,
            group_per_minute=group_per_minute,
            announce_chat_id=announce_chat,
            staff_chat_id=_chat_id(get("STAFF_CHAT_ID"), "STAFF_CHAT_ID"),
            approval_threshold=_whole(get("APPROVAL_THRESHOLD"), "APPROVAL_THRESHOLD", 200),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            http_host=get("WEBHOOK_HOST") or "127.0.0.1",
            http_port=port,
            backup_dir=home / Path(backup_dir).expanduser() if backup_dir else None,
            backup_keep=keep,
            delivery_retention_days=retention,
            zalo_app_id=zalo["ZALO_APP_ID"],
            zalo_app_secret=zalo["ZALO_APP_SECRET"],
            zalo_oa_secret_key=zalo["ZALO_OA_SECRET_KEY"],
            zalo_access_token=zalo["ZALO_ACCESS_TOKEN"],
            zalo_refresh_token=zalo["ZALO_REFRESH_TOKEN"],
            zalo_api_url=(get("ZALO_API_URL") or "https://openapi.zalo.me").rstrip("/"),
            zalo_oauth_url=(get("ZALO_OAUTH_URL") or "https://oauth.zaloapp.com").rstrip("/"),
            zalo_buttons=not get("ZALO_BUTTONS") or _flag(get("ZALO_BUTTONS"), "ZALO_BUTTONS"),
            zalo_webhook_path=zalo_path,
            zalo_rate_per_min=_number(get("ZALO_RATE_PER_MIN"), "ZALO_RATE_PER_MIN", 4000.0),
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            public_base_url=public_url.rstrip("/") if public_url else None,
            console_session_hours=session_hours,
            home=home,
            **zalobot,
        )


ZALO_BOT_TOKEN = re.compile(r"[0-9]{1,20}:\S+")
WEBHOOK_SECRET_CHARS = re.compile(r"[\x21-\x7e]{8,256}")  # printable ASCII, no spaces


def _zalo_bot(get: Callable[[str], str | None]) -> dict[str, object]:
    """The Zalo Bot Platform settings (all optional: without a token the channel is off)."""
    token = get("ZALO_BOT_TOKEN")
    if token is not None and not ZALO_BOT_TOKEN.fullmatch(token):
        raise ConfigError(
            "ZALO_BOT_TOKEN", "expected the form <bot id>:<secret> that Zalo Bot Creator sends"
        )
    api_url = (get("ZALO_BOT_API_URL") or DEFAULT_ZALO_BOT_API_URL).rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError("ZALO_BOT_API_URL", "must start with http:// or https://")
    url, secret = get("ZALO_BOT_WEBHOOK_URL"), get("ZALO_BOT_WEBHOOK_SECRET")
    if url is not None and not url.startswith("https://"):
        raise ConfigError("ZALO_BOT_WEBHOOK_URL", "Zalo only calls public https:// addresses")
    if url is not None and secret is None:
        raise ConfigError("ZALO_BOT_WEBHOOK_SECRET", "required with ZALO_BOT_WEBHOOK_URL")
    if secret is not None and not WEBHOOK_SECRET_CHARS.fullmatch(secret):
        raise ConfigError("ZALO_BOT_WEBHOOK_SECRET", "8-256 characters, no spaces")
    return {
        "zalo_bot_token": token,
        "zalo_bot_api_url": api_url,
        "zalo_bot_webhook_url": url,
        "zalo_bot_webhook_secret": secret,
        "zalo_bot_rate": _number(get("ZALO_BOT_RATE"), "ZALO_BOT_RATE", DEFAULT_ZALO_BOT_RATE),
    }


def _content_dir(value: str | None, home: Path) -> Path:
    """CONTENT_DIR; unset: the home's content/, else the content shipped with the code (a new
    home starts from it, and staff copy it into the home to edit it)."""
    if value is not None:
        folder = home / Path(value).expanduser()
        if not folder.is_dir():
            raise ConfigError("CONTENT_DIR", f"not a directory: {folder}")
        return folder
    if (home / "content").is_dir():
        return home / "content"
    bundled = bundled_content()
    if bundled is None:
        raise ConfigError("CONTENT_DIR", f"not set, and {home / 'content'} does not exist")
    return bundled


def _chat_id(value: str | None, name: str) -> str | None:
    if value is not None and not (_INTEGER.fullmatch(value) or value.startswith("@")):
        raise ConfigError(name, "a numeric chat id or an @name")
    return value


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"must be 1 or 0, not {value!r}")


def _number(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, f"must be a number, not {value!r}") from None
    if not math.isfinite(number):  # float() also reads "nan" and "inf"
        raise ConfigError(name, f"must be a number, not {value!r}")
    if number <= 0:
        raise ConfigError(name, "must be above 0")
    return number


def _whole(value: str | None, name: str, default: int) -> int:
    """A count or a port: digits only (not "0.5", "inf" or "²"), above 0."""
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value.strip()):
        raise ConfigError(name, f"must be a whole number, not {value!r}")
    number = int(value)
    if number <= 0:
        raise ConfigError(name, "must be above 0")
    return number
