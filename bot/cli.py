"""The `khuyenhoc` command: run the bot, chat in the terminal, check content."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from pathlib import Path

from bot.catalog import check_content
from bot.config import ConfigError, Settings

log = logging.getLogger("bot")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

NO_TOKEN = """\
TELEGRAM_BOT_TOKEN is not set, so the bot cannot connect to Telegram.

To get a token: open Telegram, talk to @BotFather, send /newbot, choose a name and a username
ending in "bot", and copy the token it gives you. Then either
    export TELEGRAM_BOT_TOKEN=123456789:ABC...
or put the line TELEGRAM_BOT_TOKEN=123456789:ABC... in a file named .env here.

To try the conversations without Telegram: khuyenhoc chat   (or: make chat)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="khuyenhoc", description="Outreach chatbot of Hội Khuyến học (study promotion)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the bot on Telegram (long polling)")

    chat = sub.add_parser("chat", help="talk to the bot in this terminal (no token needed)")
    chat.add_argument("--as", dest="name", default="khach", help="who you are (a name)")
    chat.add_argument("--admin", action="store_true", help="chat as an admin")
    chat.add_argument("--db", type=Path, help="database file (default: DATABASE_PATH)")

    qr = sub.add_parser("qr", help="write a QR code of a deep link (e.g. assess-gia-dinh-hoc-tap)")
    qr.add_argument("payload", help="what the link opens: plans, assess-<id>, ...")
    qr.add_argument("--out", type=Path, required=True, help="PNG file to write")
    qr.add_argument("--bot", help="the bot's username (default: asked from Telegram)")

    content = sub.add_parser("content", help="content tools")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser("check", help="validate the content folder")
    check.add_argument("dir", nargs="?", type=Path, help="content folder (default: CONTENT_DIR)")
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx/aiohttp/apscheduler chatter drowns the bot's own lines at INFO.
    for noisy in ("httpx", "apscheduler", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _configure_logging(settings.log_level)

    if args.command == "content":
        return content_check(args.dir or settings.content_dir)
    if args.command == "qr":
        return asyncio.run(_qr(settings, args.payload, args.out, args.bot))
    if args.command == "chat":
        if args.db:
            settings = settings.with_overrides(database_path=args.db)
        return asyncio.run(_chat(settings, args.name, args.admin))
    if args.command == "run":
        if not settings.telegram_bot_token:
            print(NO_TOKEN, file=sys.stderr)
            return EXIT_USAGE
        from bot.channels.telegram import run_polling

        return run_polling(settings)
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def content_check(folder: Path) -> int:
    problems = check_content(folder)
    if not problems:
        print(f"{folder}: content is sound.")
        return EXIT_OK
    print(f"{folder}: {len(problems)} problem(s):")
    for problem in problems:
        print(f"  {problem}")
    return EXIT_PROBLEMS


DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Telegram's rule for start payloads


async def _qr(settings: Settings, payload: str, out: Path, bot: str | None) -> int:
    """A QR code of https://t.me/<bot>?start=<payload>, for posters and leaflets."""
    import segno

    from bot.catalog import ContentInvalid, load_catalog
    from bot.channels.deep_links import bot_username, link_opens

    if not DEEP_LINK_PAYLOAD.match(payload):
        print(f"not a valid start payload: {payload!r} (A-Z, a-z, 0-9, _ and -)", file=sys.stderr)
        return EXIT_USAGE
    try:
        catalog = load_catalog(settings.content_dir)
    except ContentInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    if not link_opens(catalog, payload):
        print(f"{payload!r} opens nothing in {settings.content_dir}", file=sys.stderr)
        return EXIT_PROBLEMS
    username = bot or await bot_username(settings)
    if username is None:
        print("give --bot USERNAME or set TELEGRAM_BOT_TOKEN to ask Telegram", file=sys.stderr)
        return EXIT_USAGE
    link = f"https://t.me/{username.lstrip('@')}?start={payload}"
    out.parent.mkdir(parents=True, exist_ok=True)
    segno.make(link, error="m").save(out, kind="png", scale=10, border=4)
    print(f"{out}: {link}")
    return EXIT_OK


async def _chat(settings: Settings, name: str, admin: bool) -> int:
    from bot.app import App
    from bot.catalog import ContentInvalid
    from bot.channels.console import CHANNEL, ConsoleChannel

    try:
        app = await App.create(settings, extra_admins=[(CHANNEL, name)] if admin else [])
    except ContentInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    try:
        await ConsoleChannel(app.dispatcher, user=name).run()
    finally:
        await app.close()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
