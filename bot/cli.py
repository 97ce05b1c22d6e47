"""The `khuyenhoc` command: run the bot, chat in the terminal, check content, and the staff's
commands on the installation's data. Every command acts on one home folder (bot/home.py), whatever
folder it is typed in."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from bot import cli_content
from bot.catalog import check_content
from bot.config import ConfigError, Settings
from bot.core.logs import configure as configure_logging

log = logging.getLogger("bot")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_CONFIG = 78  # EX_CONFIG: the installation needs a person (a damaged database file)
CHAT_DATABASE = "chat.sqlite3"  # `khuyenhoc chat`'s own database, beside the bot's

# Commands that act on existing data: from the wrong folder they must stop, not quietly work on a
# fresh empty database ("recorded for 0 recipients", and nothing is ever sent).
DATA_COMMANDS = frozenset(
    {"announce", "announcements", "events", "stats", "export", "admins", "backup", "faq-drafts"}
)

NO_TOKEN = """\
TELEGRAM_BOT_TOKEN is not set, so the bot cannot connect to Telegram.

To get a token: open Telegram, talk to @BotFather, send /newbot, choose a name and a username
ending in "bot", and copy the token it gives you. Then either
    export TELEGRAM_BOT_TOKEN=123456789:ABC...
or put the line TELEGRAM_BOT_TOKEN=123456789:ABC... in the .env of the home folder (this one,
or the one given with --home DIR or KHUYENHOC_HOME; `khuyenhoc init` makes one).

For a Zalo Official Account instead (or as well), set the ZALO_* settings (see README).

To try the conversations without Telegram: khuyenhoc chat   (or: make chat)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="khuyenhoc", description="Outreach chatbot of Hội Khuyến học (study promotion)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="make a home folder: data/, backups/ and a .env")
    init.add_argument(
        "--user", help="(as root) the service's user: it gets data/ and backups/, not .env"
    )

    run = sub.add_parser("run", help="run the bot on Telegram (long polling, or a webhook)")
    run.add_argument("--webhook", action="store_true", help="webhook mode (needs WEBHOOK_URL)")

    backup = sub.add_parser("backup", help="a consistent copy of the database, also while running")
    backup.add_argument(
        "--out", type=Path, help="the copy (default: BACKUP_DIR/manual-YYYYMMDD-HHMMSS.sqlite3)"
    )
    restore = sub.add_parser("restore", help="replace the database with a backup (bot stopped)")
    restore.add_argument("file", type=Path)
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    chat = sub.add_parser("chat", help="talk to the bot in this terminal (no token needed)")
    chat.add_argument("--as", dest="name", default="khach", help="who you are (a name)")
    chat.add_argument("--admin", action="store_true", help="chat as an admin")
    chat.add_argument(
        "--db",
        type=Path,
        help=f"database file (default: {CHAT_DATABASE} beside DATABASE_PATH, not the bot's own)",
    )

    qr = sub.add_parser("qr", help="write a QR code of a deep link (e.g. assess-gia-dinh-hoc-tap)")
    qr.add_argument("payload", help="what the link opens: plans, assess-<id>, ...")
    qr.add_argument("--out", type=Path, required=True, help="PNG file to write")
    qr.add_argument("--bot", help="the bot's username (default: asked from Telegram)")

    announce = sub.add_parser("announce", help="record an announcement; `khuyenhoc run` sends it")
    announce.add_argument("--text-file", type=Path, required=True, help="the text (Telegram HTML)")
    announce.add_argument("--photo", type=Path, help="a photo to send with it (caption = text)")
    announce.add_argument("--at", help='local time "YYYY-MM-DD HH:MM" (default: now)')
    announce.add_argument("--expires", help="local time after which it is no longer sent")
    announce.add_argument("--area", action="append", default=[], help="ward/commune code")
    announce.add_argument("--role", action="append", default=[], help="member role id")
    announce.add_argument("--lang", help="only members using this language")
    announce.add_argument("--topic", action="append", default=[], help="followers of this topic")
    announce.add_argument(
        "--not-met",
        help="only members whose latest self-check of this title did not meet the criteria",
    )
    announce.add_argument("--dry-run", action="store_true", help="print audience size and text")
    announce.add_argument("--wait", action="store_true", help="show progress until delivered")

    announcements = sub.add_parser("announcements", help="list announcements and their status")
    announcements_sub = announcements.add_subparsers(dest="announcements_command")
    resend = announcements_sub.add_parser(
        "resend", help="send a finished announcement again to the members it missed"
    )
    resend.add_argument("id", type=int, help="the announcement's number (see `announcements`)")

    stats = sub.add_parser("stats", help="campaign figures against the targets")
    stats.add_argument("--chart", type=Path, help="also write the chart to this PNG file")
    export = sub.add_parser(
        "export", help="exports: .xlsx for Excel, or .csv (UTF-8 with BOM) for tools"
    )
    export.add_argument("what", choices=["assessments", "members", "announcements"])
    export.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (local)")
    export.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (local, included)")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--force", action="store_true", help="replace --out if it exists")

    events = sub.add_parser("events", help="the campaign calendar")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    listing = events_sub.add_parser("list", help="upcoming occurrences with dates")
    listing.add_argument("--days", type=int, default=60)
    add = events_sub.add_parser("add", help="add a one-off event")
    add.add_argument("--title", required=True)
    add.add_argument("--at", required=True, help='local "YYYY-MM-DD HH:MM" or "YYYY-MM-DD"')
    add.add_argument("--place")
    add.add_argument("--description")
    cancel = events_sub.add_parser("cancel", help="cancel a one-off event")
    cancel.add_argument("event_id")

    ask = sub.add_parser("ask", help="how a question is matched (for tuning content/faq.yaml)")
    ask.add_argument("question")
    sub.add_parser("faq-drafts", help="FAQ entries drafted from answered questions, as YAML")

    content = sub.add_parser("content", help="content tools")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser("check", help="validate the content folder")
    check.add_argument("dir", nargs="?", type=Path, help="content folder (default: CONTENT_DIR)")
    cli_content.add_parsers(content_sub)
    _add_home_option(parser, default=None)
    return parser


def _add_home_option(parser: argparse.ArgumentParser, default: Any) -> None:
    """--home DIR, before or after the subcommand (`khuyenhoc --home D stats`, `khuyenhoc stats
    --home D`). Below the top, the default is SUPPRESS so a subcommand does not reset a --home
    given before it."""
    parser.add_argument(
        "--home",
        type=Path,
        default=default,
        metavar="DIR",
        help="the home folder (default: KHUYENHOC_HOME, or the folder of the .env found from here)",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_home_option(child, argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "init":
        return init_command(args.home, args.user)
    try:
        settings = Settings.load(home=args.home)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    if args.command in DATA_COMMANDS and not settings.database_path.is_file():
        print(no_database(settings), file=sys.stderr)
        return EXIT_USAGE
    from bot.store.db import DatabaseUnusable

    problem = _unwritable_out(args)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    try:
        return _command(args, settings)
    except DatabaseUnusable as exc:  # one line naming the file, not a traceback
        print(exc, file=sys.stderr)
        return EXIT_CONFIG


def _command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the subcommand `args` names on the installation `settings` describe."""
    if args.command == "content":
        done = cli_content.run(args, settings)
        if done is not None:
            return done
        return content_check(args.dir or settings.content_dir)
    if args.command == "announce":
        return asyncio.run(_announce(settings, args))
    if args.command == "announcements" and args.announcements_command == "resend":
        return asyncio.run(_resend(settings, args.id))
    if args.command == "announcements":
        return asyncio.run(_announcements(settings))
    if args.command in ("stats", "export"):
        return asyncio.run(_reports(settings, args))
    if args.command == "events":
        return asyncio.run(_events(settings, args))
    if args.command == "ask":
        return ask_command(settings, args.question)
    if args.command == "faq-drafts":
        return asyncio.run(_faq_drafts(settings))
    if args.command == "qr":
        return asyncio.run(_qr(settings, args.payload, args.out, args.bot))
    if args.command == "chat":
        from bot.app import Terminal, chat

        # Its own database unless told otherwise: trying the bot never touches members' data.
        database = args.db or settings.database_path.with_name(CHAT_DATABASE)
        settings = settings.with_overrides(database_path=database)
        return asyncio.run(chat(settings, Terminal(args.name), admin=args.admin))
    if args.command == "run":
        if not settings.telegram_bot_token and not settings.zalo_enabled:
            print(NO_TOKEN, file=sys.stderr)
            return EXIT_USAGE
        if args.webhook and not settings.webhook_url:
            print(
                "--webhook needs WEBHOOK_URL (the https:// address Telegram should call)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        from bot.app import run_bot

        return run_bot(settings)
    if args.command in ("backup", "restore"):
        return asyncio.run(_backup_restore(settings, args))
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def no_database(settings: Settings) -> str:
    """One line: where the database was looked for, and how to point the command elsewhere."""
    return (
        f"no database at {settings.database_path}; give its home with --home DIR or "
        "KHUYENHOC_HOME=DIR, or the file with DATABASE_PATH=FILE "
        "(a new home gets one when `khuyenhoc run` first starts)"
    )


def init_command(given: Path | None, user: str | None) -> int:
    """`khuyenhoc init`: make a home (--home, else KHUYENHOC_HOME, else here); say what is next."""
    from bot.home import HOME_VARIABLE, HomeError, Owner, init_home

    home = given or Path(os.environ.get(HOME_VARIABLE) or ".")
    try:
        owner = Owner.parse(user) if user else None
        if owner is not None and os.geteuid() != 0:
            raise HomeError("--user", "only root can make a home for another user")
        report = init_home(home, owner)
    except (HomeError, OSError) as exc:
        print(f"init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    home = report.home
    print(f"Home: {home}")
    for folder in report.created:
        print(f"  created {folder}")
    if report.env_written:
        print(f"  wrote {report.env_file} (DATABASE_PATH and BACKUP_DIR point into this home)")
    else:
        print(f"  kept {report.env_file}: it exists and is not overwritten")
    print(
        "Next:\n"
        f"  1. In {report.env_file}: TELEGRAM_BOT_TOKEN (from @BotFather) and ADMIN_IDS.\n"
        f"  2. Start the bot: khuyenhoc --home {home} run   (a server: deploy/khuyenhoc.service)\n"
        f"  3. Staff commands from any folder: khuyenhoc --home {home} stats,\n"
        f"     or once per session: export {HOME_VARIABLE}={home}"
    )
    return EXIT_OK


def _unwritable_out(args: argparse.Namespace) -> str | None:
    """A file a command is asked to write that it must not: a folder, or an export that would
    silently replace an earlier one (members' data: `--force` says it is meant)."""
    for option in ("out", "chart"):
        path = getattr(args, option, None)
        if path is None:
            continue
        if path.is_dir():
            return f"--{option}: {path} is a folder; give a file name inside it"
        if path.exists() and args.command == "export" and not args.force:
            return f"--{option}: {path} exists; give another name, or --force to replace it"
    return None


def ask_command(settings: Settings, question: str) -> int:
    from bot.catalog import ContentInvalid, load_catalog
    from bot.services.ask import Answerer, tokens

    try:
        catalog = load_catalog(settings.content_dir)
    except ContentInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    ranking = Answerer(catalog).rank(question, limit=8)
    print(f"tokens: {' '.join(tokens(question))}")
    confident = ranking.confident
    for match in ranking.matches:
        mark = (
            "answer" if match is confident else ("offer" if match in ranking.suggestions() else "")
        )
        print(f"{match.score:7.2f}  {match.key:<40} {mark}")
    if not ranking.matches:
        print("no match: the member is offered to ask the staff")
    return EXIT_OK


async def _faq_drafts(settings: Settings) -> int:
    import yaml

    from bot.store import Store

    store = await Store.open(settings.database_path)
    try:
        drafts = await store.tickets.faq_drafts()
    finally:
        await store.close()
    entries = [
        {
            "id": f"draft-{d.id}",
            "question": {"vi": d.question, "en": ""},
            "answer": {"vi": d.answer, "en": ""},
            "alternates": {"vi": [], "en": []},
        }
        for d in drafts
    ]
    print("# Review, translate, then paste under `faq:` in content/faq.yaml")
    print(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False) if entries else "# none")
    return EXIT_OK


async def _open_app(settings: Settings, **options: Any) -> Any:
    """The app, or None after printing what is wrong with the content."""
    from bot.app import App
    from bot.catalog import ContentInvalid

    try:
        return await App.create(settings, **options)
    except ContentInvalid as exc:
        print(exc, file=sys.stderr)
        return None


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
    from bot.catalog.links import link_opens

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
    username = bot
    if username is None and settings.telegram_bot_token:
        from bot.channels.telegram import bot_username

        username = await bot_username(settings.telegram_bot_token, settings.telegram_api_url)
    if username is None:
        print("give --bot USERNAME or set TELEGRAM_BOT_TOKEN to ask Telegram", file=sys.stderr)
        return EXIT_USAGE
    link = f"https://t.me/{username.lstrip('@')}?start={payload}"
    out.parent.mkdir(parents=True, exist_ok=True)
    segno.make(link, error="m").save(out, kind="png", scale=10, border=4)
    print(f"{out}: {link}")
    return EXIT_OK


async def _announce(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.text import plain
    from bot.services.outreach import AudienceFilter, parse_when

    try:
        text = args.text_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"--text-file: cannot read {args.text_file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not text or len(text) > 4096 or (args.photo and len(text) > 1024):
        print(
            "--text-file: empty, or too long (4096 characters, 1024 with a photo)", file=sys.stderr
        )
        return EXIT_USAGE
    if args.photo and not args.photo.is_file():
        print(f"--photo: no such file {args.photo}", file=sys.stderr)
        return EXIT_USAGE
    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        problem = _check_audience(app, args)
        now = app.services.clock()
        moments = {}
        for name in ("at", "expires"):
            value = getattr(args, name)
            moments[name] = parse_when(value, settings.timezone, now) if value else None
            if value and moments[name] is None:
                problem = problem or f'--{name}: expected "YYYY-MM-DD HH:MM", got {value!r}'
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_USAGE
        audience = AudienceFilter(
            areas=tuple(args.area),
            roles=tuple(args.role),
            locale=args.lang,
            topics=tuple(args.topic),
            not_met=args.not_met,
        )
        count = await app.outreach.audience_size(audience)
        if args.dry_run:
            print(f"Recipients: {count}")
            print("----")
            print(plain(text))
            return EXIT_OK
        announcement = await app.outreach.announce(
            "cli",
            text,
            audience,
            photo=str(args.photo.resolve()) if args.photo else None,
            at=moments["at"],
            expires=moments["expires"],
        )
        when = moments["at"].strftime("%Y-%m-%d %H:%M") if moments["at"] else "now"
        print(f"Announcement #{announcement.id} recorded for {count} recipients, to send {when}.")
        print("A running `khuyenhoc run` sends it within a few seconds.")
        if args.wait:
            return await _wait_for(app, announcement.id)
        return EXIT_OK
    finally:
        await app.close()


def _check_audience(app: Any, args: argparse.Namespace) -> str | None:
    catalog = app.catalog
    for code in args.area:
        if catalog.areas.get(code) is None:
            return f"--area: unknown ward/commune code {code!r} (see content/areas.csv)"
    for role in args.role:
        if catalog.campaign.role(role) is None:
            return f"--role: unknown role {role!r}"
    if args.lang and args.lang not in catalog.campaign.locales:
        return f"--lang: must be one of {', '.join(catalog.campaign.locales)}"
    if args.not_met and catalog.campaign.title(args.not_met) is None:
        return f"--not-met: unknown title {args.not_met!r}"
    return None


async def _wait_for(app: Any, announcement_id: int) -> int:
    """A progress bar until every delivery has an outcome."""
    store = app.store.announcements
    while True:
        announcement = await store.get(announcement_id)
        counts = await store.counts(announcement_id)
        total = announcement.total if announcement else 0
        done = total - counts["pending"] - counts["sending"]
        if announcement and announcement.status in ("sending", "done") and total:
            width = 30
            filled = int(width * done / total)
            print(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                f"sent {counts['sent']} failed {counts['failed']} blocked {counts['blocked']}",
                end="",
                flush=True,
            )
        if announcement is None or announcement.status in ("done", "cancelled"):
            print()
            return EXIT_OK
        await asyncio.sleep(0.5)


async def _backup_restore(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "backup":
        return await _backup(settings, args.out)
    return await _restore(settings, args.file, args.yes)


async def _backup(settings: Settings, out: Path | None) -> int:
    from datetime import datetime

    from bot.services import maintenance

    database = settings.database_path
    now = datetime.now(settings.timezone)
    if out is None:
        if settings.backup_dir is None:
            print("give --out FILE, or set BACKUP_DIR (khuyenhoc init does)", file=sys.stderr)
            return EXIT_USAGE
        # Not named like the daily backups: BACKUP_KEEP's rotation never removes these.
        out = settings.backup_dir / f"manual-{now:%Y%m%d-%H%M%S}.sqlite3"
    try:
        out = await maintenance.backup(database, out, now)
    except maintenance.BackupFailed as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{out}: backup of {database} (integrity ok)")
    return EXIT_OK


RESTORE_QUESTION = (
    "Khôi phục sẽ thay toàn bộ dữ liệu hiện tại bằng bản sao lưu lúc {when} ; gõ 'co' để tiếp tục: "
)


async def _restore(settings: Settings, file: Path, yes: bool) -> int:
    """Replace the database with a backup, after the checks and the question (maintenance.restore
    says in which order); every refusal is one line and changes nothing."""
    import unicodedata
    from datetime import datetime

    from bot.services import maintenance
    from bot.store.files import FileFacts, NotOurDatabase

    database = settings.database_path
    # A fresh home (data/ made by `init`) may receive a backup; a folder that is no home may not.
    if not database.is_file() and not database.parent.is_dir():
        print(no_database(settings), file=sys.stderr)
        return EXIT_USAGE
    if not file.is_file():
        print(f"no such file {file}", file=sys.stderr)
        return EXIT_USAGE

    def taken(facts: FileFacts) -> str:
        return f"{facts.taken_at.astimezone(settings.timezone):%Y-%m-%d %H:%M}"

    def confirm(facts: FileFacts) -> bool:
        if yes:
            return True
        print(RESTORE_QUESTION.format(when=taken(facts)), end="", flush=True)
        answer = unicodedata.normalize("NFC", sys.stdin.readline().strip().lower())
        print()
        return answer in ("co", "có")

    try:
        restored = await maintenance.restore(
            file, database, confirm=confirm, now=datetime.now(settings.timezone)
        )
    except NotOurDatabase as exc:
        print(f"refused: {file} cannot be restored: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except maintenance.DatabaseInUse:
        print(
            f"refused: {database} is in use by a running khuyenhoc (run or chat); stop it first",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    except maintenance.RestoreCancelled:
        print("cancelled: nothing changed (answer co to go ahead, or give --yes)", file=sys.stderr)
        return EXIT_PROBLEMS
    if restored.safety_copy is not None:
        print(f"The database it replaced is kept as {restored.safety_copy}")
    print(
        f"{database} restored from {file} (backup of {taken(restored.backup)}); "
        "migrations run when the bot starts"
    )
    return EXIT_OK


async def _reports(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta

    from bot.core.text import plain
    from bot.services.reports import figures_text, titles_chart
    from bot.store import private

    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        now = app.services.clock()
        reports, i18n = app.services.reports, app.services.i18n
        locale = app.catalog.campaign.default_locale
        if args.command == "stats":
            figures = await reports.figures(now)
            print(
                plain(
                    figures_text(
                        i18n, locale, figures, app.catalog, now.astimezone(settings.timezone)
                    )
                )
            )
            if args.chart:
                chart = titles_chart(i18n, locale, figures)
                if chart is None:
                    print("No chart: no title has 5 answers yet.", file=sys.stderr)
                    return EXIT_PROBLEMS
                private.write(args.chart, chart)
                print(f"Chart written: {args.chart}")
            return EXIT_OK
        if args.out.suffix.lower() == ".xlsx" or args.what == "announcements":
            return await cli_content.export_xlsx(app, args, now)
        if args.what == "members":
            data = await reports.export_members(now)
        else:
            bounds = []
            for name, value, shift in (("--from", args.start, 0), ("--to", args.end, 1)):
                if value is None:
                    bounds.append(None)
                    continue
                try:
                    day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=settings.timezone)
                except ValueError:
                    print(f"{name}: expected YYYY-MM-DD, got {value!r}", file=sys.stderr)
                    return EXIT_USAGE
                bounds.append(day + timedelta(days=shift))
            data = await reports.export_assessments(*bounds)
        private.write(args.out, data)  # members' data: readable by the bot's user only
        rows = data.decode("utf-8-sig").count("\n") - 1
        print(f"{args.out}: {rows} rows")
        return EXIT_OK
    finally:
        await app.close()


async def _events(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.text import plain
    from bot.services.outreach import parse_when

    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    reminders = app.services.reminders
    locale = app.catalog.campaign.default_locale
    try:
        await reminders.load_custom()
        if args.events_command == "list":
            for occurrence in reminders.upcoming(args.days):
                title = plain(app.services.i18n.text(locale, occurrence.event.title))
                when = plain(reminders.when(occurrence, locale)).removeprefix("📅 ")
                print(f"{occurrence.event.id:<18} {when:<32} {title}")
            return EXIT_OK
        if args.events_command == "cancel":
            if not await app.store.calendar.cancel_event(args.event_id):
                print(f"no active one-off event {args.event_id!r}", file=sys.stderr)
                return EXIT_PROBLEMS
            await app.store.staff.audit("cli", "event_cancel", event=args.event_id)
            print(f"Cancelled {args.event_id}.")
            return EXIT_OK
        now = app.services.clock()
        moment = parse_when(args.at, settings.timezone, now)
        if moment is not None:
            start = f"{moment:%Y-%m-%d %H:%M}"
        elif re.match(r"^\d{4}-\d{2}-\d{2}$", args.at):
            start = args.at
        else:
            print(
                f'--at: expected "YYYY-MM-DD HH:MM" or "YYYY-MM-DD", got {args.at!r}',
                file=sys.stderr,
            )
            return EXIT_USAGE
        locales = app.catalog.campaign.locales
        body: dict[str, Any] = {
            "recurrence": "once",
            "start": start,
            "title": dict.fromkeys(locales, args.title),
            "reminders": [{"days_before": 1, "at": "19:00"}, {"days_before": 0, "at": "07:00"}],
        }
        if args.place:
            body["place"] = dict.fromkeys(locales, args.place)
        if args.description:
            body["description"] = dict.fromkeys(locales, args.description)
        event_id = await app.store.calendar.add_event(body, "cli")
        await app.store.staff.audit("cli", "event_add", event=event_id, start=start)
        print(
            f"Added {event_id}: {args.title} ({start}). A running bot plans its reminders "
            "within a day; restart it to plan them now."
        )
        return EXIT_OK
    finally:
        await app.close()


async def _announcements(settings: Settings) -> int:
    from bot.store import Store

    store = await Store.open(settings.database_path)
    try:
        rows = await store.announcements.listing(
            ["draft", "scheduled", "sending", "done", "cancelled"], limit=1000
        )
        print(f"{'id':>5}  {'status':<10} {'when (UTC)':<17} {'total':>7} {'sent':>7}  text")
        for a in rows:
            counts = await store.announcements.counts(a.id)
            when = (a.scheduled_at or a.created_at).strftime("%Y-%m-%d %H:%M")
            first = " ".join(a.text.split())[:40]
            print(f"{a.id:>5}  {a.status:<10} {when:<17} {a.total:>7} {counts['sent']:>7}  {first}")
    finally:
        await store.close()
    return EXIT_OK


async def _resend(settings: Settings, announcement_id: int) -> int:
    """`khuyenhoc announcements resend ID`: a new announcement for those ID missed."""
    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        again = await app.outreach.resend_missed(announcement_id, "cli")
    except (LookupError, ValueError) as exc:
        print(f"resend: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        await app.close()
    if again is None:
        print(f"Announcement #{announcement_id} missed nobody: nothing to resend.")
        return EXIT_OK
    print(
        f"Announcement #{again.id} recorded for those #{announcement_id} missed; "
        "a running `khuyenhoc run` sends it within a few seconds."
    )
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
