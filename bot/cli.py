"""The `khuyenhoc` command: run the bot, chat in the terminal, check content, and the staff's
commands on the installation's data. Every command acts on one home folder (bot/home.py), whatever
folder it is typed in.

What a command prints is said through `bot.say` (Vietnamese, or English with --lang en or an
English locale); log lines go to stderr, and for staff commands only with -v."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import bot.say as saying
from bot import cli_content, cli_staff
from bot.catalog import check_content
from bot.config import ConfigError, Settings
from bot.core.dates import Typed
from bot.core.logs import configure as configure_logging
from bot.say import number, say, text

log = logging.getLogger("bot")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_CONFIG = 78  # EX_CONFIG: the installation needs a person (a damaged database file)
CHAT_DATABASE = "chat.sqlite3"  # `khuyenhoc chat`'s own database, beside the bot's
CHAT_PICTURES = "chat-pictures"  # where `khuyenhoc chat` saves the pictures the bot sends
CALENDAR_DAYS = 365  # `events list`: the campaign calendar, twelve months ahead

# Commands that act on existing data: from the wrong folder they must stop, not quietly work on a
# fresh empty database ("recorded for 0 recipients", and nothing is ever sent).
DATA_COMMANDS = frozenset(
    {
        "announce",
        "announcements",
        "events",
        "stats",
        "export",
        "admins",
        "audit",
        "backup",
        "faq-drafts",
    }
)


def build_parser() -> argparse.ArgumentParser:
    """The command line, its help in the chosen language (bot.say)."""
    parser = argparse.ArgumentParser(prog="khuyenhoc", description=text("help.description"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help=text("help.init"))
    init.add_argument("--user", help=text("help.init_user"))

    run = sub.add_parser("run", help=text("help.run"))
    run.add_argument("--webhook", action="store_true", help=text("help.run_webhook"))

    backup = sub.add_parser("backup", help=text("help.backup"))
    backup.add_argument("--out", type=Path, help=text("help.backup_out"))
    migrate = sub.add_parser("migrate-to-postgres", help=text("postgres.help"))
    migrate.add_argument("--from", dest="source", type=Path, help=text("postgres.help_from"))
    migrate.add_argument("--to", dest="target", help=text("postgres.help_to"))
    migrate.add_argument("--force", action="store_true", help=text("postgres.help_force"))
    restore = sub.add_parser("restore", help=text("help.restore"))
    restore.add_argument("file", type=Path, help=text("help.restore_file"))
    restore.add_argument("--yes", action="store_true", help=text("help.yes"))

    chat = sub.add_parser("chat", help=text("help.chat"))
    chat.add_argument("--as", dest="name", default="khach", help=text("help.chat_as"))
    chat.add_argument("--admin", action="store_true", help=text("help.chat_admin"))
    chat.add_argument("--db", type=Path, help=text("help.chat_db", file=CHAT_DATABASE))

    qr = sub.add_parser("qr", help=text("help.qr"))
    qr.add_argument("payload", nargs="?", default="", help=text("help.qr_payload"))
    qr.add_argument("--out", type=Path, required=True, help=text("help.qr_out"))
    qr.add_argument("--bot", help=text("help.qr_bot"))
    qr.add_argument(
        "--channel", choices=QR_CHANNELS, default="telegram", help=text("help.qr_channel")
    )

    announce = sub.add_parser("announce", help=text("help.announce"))
    announce.add_argument(
        "--text-file", type=Path, required=True, metavar="FILE", help=text("help.text_file")
    )
    announce.add_argument("--photo", type=Path, metavar="FILE", help=text("help.photo"))
    announce.add_argument("--at", metavar="DATE", help=text("help.announce_at"))
    announce.add_argument("--expires", metavar="DATE", help=text("help.announce_expires"))
    announce.add_argument("--area", action="append", default=[], help=text("help.area"))
    announce.add_argument("--role", action="append", default=[], help=text("help.role"))
    # Here --lang picks the members by their language (the output's is chosen before the
    # subcommand: `khuyenhoc --lang en announce ...`).
    announce.add_argument("--lang", help=text("help.announce_lang"))
    announce.add_argument("--topic", action="append", default=[], help=text("help.topic"))
    announce.add_argument("--not-met", help=text("help.not_met"))
    announce.add_argument("--dry-run", action="store_true", help=text("help.dry_run"))
    announce.add_argument("--wait", action="store_true", help=text("help.wait"))
    announce.add_argument("--yes", action="store_true", help=text("help.announce_yes"))

    announcements = sub.add_parser("announcements", help=text("help.announcements"))
    announcements_sub = announcements.add_subparsers(dest="announcements_command")
    resend = announcements_sub.add_parser("resend", help=text("help.resend"))
    resend.add_argument("id", type=int, help=text("help.announcement_id"))
    cancel_one = announcements_sub.add_parser("cancel", help=text("help.announcement_cancel"))
    cancel_one.add_argument("id", type=int, help=text("help.announcement_id"))

    stats = sub.add_parser("stats", help=text("help.stats"))
    stats.add_argument("--chart", type=Path, help=text("help.stats_chart"))
    export = sub.add_parser("export", help=text("help.export"))
    export.add_argument(
        "what", choices=["assessments", "members", "announcements"], help=text("help.export_what")
    )
    export.add_argument("--from", dest="start", metavar="DATE", help=text("help.export_from"))
    export.add_argument("--to", dest="end", metavar="DATE", help=text("help.export_to"))
    export.add_argument("--out", type=Path, required=True, help=text("help.export_out"))
    export.add_argument("--force", action="store_true", help=text("help.export_force"))

    events = sub.add_parser("events", help=text("help.events"))
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    listing = events_sub.add_parser("list", help=text("help.events_list"))
    listing.add_argument("--days", type=int, default=CALENDAR_DAYS, help=text("help.events_days"))
    add = events_sub.add_parser("add", help=text("help.events_add"))
    add.add_argument("--title", required=True, help=text("help.event_title"))
    add.add_argument("--at", required=True, metavar="DATE", help=text("help.event_at"))
    add.add_argument("--place", help=text("help.event_place"))
    add.add_argument("--description", help=text("help.event_description"))
    cancel = events_sub.add_parser("cancel", help=text("help.events_cancel"))
    cancel.add_argument("event_id", help=text("help.event_id"))

    cli_staff.add_parsers(sub)

    ask = sub.add_parser("ask", help=text("help.ask"))
    ask.add_argument("question", help=text("help.ask_question"))
    sub.add_parser("faq-drafts", help=text("help.faq_drafts"))

    content = sub.add_parser("content", help=text("help.content"))
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="COMMAND")
    check = content_sub.add_parser("check", help=text("help.content_check"))
    check.add_argument("dir", nargs="?", type=Path, help=text("help.content_dir"))
    cli_content.add_parsers(content_sub)
    _add_global_options(parser, top=True)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--home DIR, --lang and -v, before or after the subcommand (`khuyenhoc --home D stats`,
    `khuyenhoc stats --home D`). Below the top, the default is SUPPRESS so a subcommand does not
    reset an option given before it. `announce` keeps its own --lang (the members' language)."""
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument("--home", type=Path, default=default, metavar="DIR", help=text("help.home"))
    if top or "--lang" not in parser._option_string_actions:
        parser.add_argument(
            "--lang",
            dest="ui_lang",
            choices=saying.LANGUAGES,
            default=default,
            help=text("help.lang"),
        )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help=text("help.verbose"),
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_global_options(child)


# argparse's own words (usage, errors, headings) are gettext-marked; those a staffer meets are
# said in the chosen language, others stay argparse's English.
_ARGPARSE_WORDS = {
    "usage: ": "argparse.usage",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "show this help message and exit": "argparse.help",
    "the following arguments are required: %s": "argparse.required",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "expected one argument": "argparse.expected_one",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
}


def _argparse_words(message: str) -> str:
    key = _ARGPARSE_WORDS.get(message)
    return text(key) if key else message


def _language_asked(argv: list[str]) -> str | None:
    """--lang before the parser is built (its help is in that language); after `announce`,
    --lang is that command's own option."""
    for index, token in enumerate(argv):
        if token == "announce":
            break
        if token == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith("--lang="):
            return token.partition("=")[2]
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    saying.choose(_language_asked(argv))
    argparse._ = _argparse_words  # type: ignore[attr-defined]
    args = build_parser().parse_args(argv)
    saying.choose(args.ui_lang)
    if args.command == "init":
        return init_command(args.home, args.user)
    try:
        settings = Settings.load(home=args.home)
    except ConfigError as exc:
        say("config_error", err=True, problem=exc)
        return EXIT_USAGE
    configure_logging(_log_level(args, settings), settings.log_format, settings.secrets())
    if (
        args.command in DATA_COMMANDS
        and not settings.on_postgres
        and not settings.database_path.is_file()
    ):
        no_database(settings)
        return EXIT_USAGE
    from bot.store.db import DatabaseUnusable

    if _unwritable_out(args):
        return EXIT_USAGE
    try:
        return _command(args, settings)
    except DatabaseUnusable as exc:  # one line naming the file, not a traceback
        say("database_unusable", err=True, problem=exc)
        return EXIT_CONFIG


def _log_level(args: argparse.Namespace, settings: Settings) -> str:
    """The bot logs at LOG_LEVEL. A staff command prints its result, and its log lines (on
    stderr) only when asked with -v: then at least INFO."""
    if args.command == "run":
        return settings.log_level
    if args.verbose:
        return "DEBUG" if settings.log_level == "DEBUG" else "INFO"
    return settings.log_level if settings.log_level in ("ERROR", "CRITICAL") else "WARNING"


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
    if args.command == "announcements" and args.announcements_command == "cancel":
        return asyncio.run(_cancel_announcement(settings, args.id))
    if args.command == "announcements":
        return asyncio.run(_announcements(settings))
    if args.command in ("stats", "export"):
        return asyncio.run(_reports(settings, args))
    if args.command == "events":
        return asyncio.run(_events(settings, args))
    if args.command == "admins":
        return asyncio.run(cli_staff.admins_command(settings, args, _open_app))
    if args.command == "audit":
        return asyncio.run(cli_staff.audit_command(settings, args, _open_app))
    if args.command == "ask":
        return ask_command(settings, args.question)
    if args.command == "faq-drafts":
        return asyncio.run(_faq_drafts(settings))
    if args.command == "qr":
        if args.channel != "telegram":
            return _zalo_qr(settings, args.channel, args.payload, args.out, args.bot)
        return asyncio.run(_qr(settings, args.payload, args.out, args.bot))
    if args.command == "chat":
        return _chat(settings, args)
    if args.command == "run":
        if not (settings.telegram_bot_token or settings.zalo_enabled or settings.zalo_bot_token):
            say("run.no_token", err=True)
            return EXIT_USAGE
        if args.webhook and not settings.webhook_url:
            say("run.no_webhook_url", err=True)
            return EXIT_USAGE
        from bot.app import run_bot

        return run_bot(settings)
    if args.command in ("backup", "restore"):
        return asyncio.run(_backup_restore(settings, args))
    if args.command == "migrate-to-postgres":
        return asyncio.run(_to_postgres(settings, args.source, args.target, args.force))
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    """`khuyenhoc chat`: on its own database unless told otherwise (trying the bot never touches
    members' data); pictures the bot sends are saved beside that database."""
    from bot.app import Terminal, chat

    database = args.db or settings.database_path.with_name(CHAT_DATABASE)
    settings = settings.with_overrides(database_path=database, database_url=None)
    pictures = database.parent / CHAT_PICTURES

    def started(background: bool) -> None:
        say("chat.database", err=True, path=database)
        say("chat.background" if background else "chat.no_background", err=True)
        say("chat.pictures", err=True, path=pictures)

    terminal = Terminal(args.name, pictures=pictures)
    return asyncio.run(chat(settings, terminal, admin=args.admin, started=started))


def no_database(settings: Settings) -> None:
    """One line: where the database was looked for, and how to point the command elsewhere."""
    say("no_database", err=True, path=settings.database_path)


def init_command(given: Path | None, user: str | None) -> int:
    """`khuyenhoc init`: make a home (--home, else KHUYENHOC_HOME, else here); say what is next."""
    from bot.home import HOME_VARIABLE, HomeError, Owner, init_home

    home = given or Path(os.environ.get(HOME_VARIABLE) or ".")
    try:
        owner = Owner.parse(user) if user else None
        if owner is not None and os.geteuid() != 0:
            raise HomeError("--user", text("init.root_only"))
        report = init_home(home, owner)
    except (HomeError, OSError) as exc:
        say("init.failed", err=True, problem=exc)
        return EXIT_USAGE
    home = report.home
    say("init.home", path=home)
    for folder in report.created:
        say("init.created", path=folder)
    say("init.env_written" if report.env_written else "init.env_kept", path=report.env_file)
    say("init.next", env=report.env_file, home=home, variable=HOME_VARIABLE)
    return EXIT_OK


def _unwritable_out(args: argparse.Namespace) -> bool:
    """A file a command is asked to write that it must not: a folder, or an export that would
    silently replace an earlier one (members' data: `--force` says it is meant). Says why."""
    for option in ("out", "chart"):
        path = getattr(args, option, None)
        if path is None:
            continue
        if path.is_dir():
            say("out_is_folder", err=True, option=f"--{option}", path=path)
            return True
        if path.exists() and args.command == "export" and not args.force:
            say("out_exists", err=True, option=f"--{option}", path=path)
            return True
    return False


def ask_command(settings: Settings, question: str) -> int:
    from bot.catalog import ContentInvalid, load_catalog
    from bot.services.ask import Answerer, tokens

    try:
        catalog = load_catalog(settings.content_dir)
    except ContentInvalid as exc:
        _content_invalid(exc)
        return EXIT_PROBLEMS
    ranking = Answerer(catalog).rank(question, limit=8)
    say("ask.tokens", tokens=" ".join(tokens(question)))
    confident = ranking.confident
    for match in ranking.matches:
        mark = (
            text("ask.answer")
            if match is confident
            else (text("ask.offer") if match in ranking.suggestions() else "")
        )
        print(f"{match.score:7.2f}  {match.key:<40} {mark}")
    if not ranking.matches:
        say("ask.no_match")
    return EXIT_OK


async def _faq_drafts(settings: Settings) -> int:
    import yaml

    from bot.store import Store

    store = await Store.open(settings.database)
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
    say("faq_drafts.heading")
    if entries:
        print(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False))
    else:
        say("faq_drafts.none")
    return EXIT_OK


async def _open_app(settings: Settings, **options: Any) -> Any:
    """The app, or None after printing what is wrong with the content."""
    from bot.app import App
    from bot.catalog import ContentInvalid

    try:
        return await App.create(settings, **options)
    except ContentInvalid as exc:
        _content_invalid(exc)
        return None


def _content_invalid(exc: Exception) -> None:
    """The content's problems (each names its file, field and line), under one line of ours."""
    problems = getattr(exc, "problems", [])
    say("content.invalid", err=True, count=len(problems))
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def content_check(folder: Path) -> int:
    problems = check_content(folder)
    if not problems:
        say("content.sound", folder=folder)
        return EXIT_OK
    say("content.problems", folder=folder, count=len(problems))
    for problem in problems:
        print(f"  {problem}")
    return EXIT_PROBLEMS


DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Telegram's rule for start payloads
QR_CHANNELS = ("telegram", "zalo-oa", "zalobot")


def _zalo_qr(settings: Settings, channel: str, payload: str, out: Path, bot: str | None) -> int:
    """A QR code of the Zalo link that opens the chat with the association's Official Account
    (zalo-oa) or Bot Platform bot (zalobot). Zalo passes no start payload (as far as is known:
    README), so the member lands in the welcome, then the menu, and chooses what they came for."""
    import segno

    account = bot
    if account is None and channel == "zalobot" and settings.zalo_bot_token:
        account = settings.zalo_bot_token.split(":", 1)[0]  # the numeric bot id, not the secret
    if account is None or not account.isascii() or not account.isdigit():
        what = "id của Official Account" if channel == "zalo-oa" else "id của bot (ZALO_BOT_TOKEN)"
        print(f"--bot: cần {what}, là một dãy số", file=sys.stderr)
        return EXIT_USAGE
    link = f"https://zalo.me/{account}"
    out.parent.mkdir(parents=True, exist_ok=True)
    segno.make(link, error="m").save(out, kind="png", scale=10, border=4)
    print(f"{out}: {link}")
    if payload:
        print(
            f"Lưu ý: Zalo không chuyển {payload!r} cho Hội; người quét mã sẽ vào trang chủ"
            " và chọn mục mình cần."
        )
    return EXIT_OK


async def _qr(settings: Settings, payload: str, out: Path, bot: str | None) -> int:
    """A QR code of https://t.me/<bot>?start=<payload>, for posters and leaflets."""
    import segno

    from bot.catalog import ContentInvalid, load_catalog
    from bot.catalog.links import link_opens

    if not payload:
        print("cần nêu mục mà đường liên kết mở (plans, assess-<id>, ...)", file=sys.stderr)
        return EXIT_USAGE
    if not DEEP_LINK_PAYLOAD.match(payload):
        say("qr.bad_payload", err=True, payload=payload)
        return EXIT_USAGE
    try:
        catalog = load_catalog(settings.content_dir)
    except ContentInvalid as exc:
        _content_invalid(exc)
        return EXIT_PROBLEMS
    if not link_opens(catalog, payload):
        say("qr.opens_nothing", err=True, payload=payload, folder=settings.content_dir)
        return EXIT_PROBLEMS
    username = bot
    if username is None and settings.telegram_bot_token:
        from bot.channels.telegram import bot_username

        username = await bot_username(settings.telegram_bot_token, settings.telegram_api_url)
    if username is None:
        say("qr.no_bot", err=True)
        return EXIT_USAGE
    link = f"https://t.me/{username.lstrip('@')}?start={payload}"
    out.parent.mkdir(parents=True, exist_ok=True)
    segno.make(link, error="m").save(out, kind="png", scale=10, border=4)
    say("qr.written", path=out, link=link)
    return EXIT_OK


async def _announce(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.text import plain

    try:
        body = args.text_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        say("announce.unreadable", err=True, path=args.text_file, problem=exc)
        return EXIT_USAGE
    if not body or len(body) > 4096 or (args.photo and len(body) > 1024):
        say("announce.bad_length", err=True)
        return EXIT_USAGE
    if args.photo and not args.photo.is_file():
        say("announce.no_photo", err=True, path=args.photo)
        return EXIT_USAGE
    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        audience = _audience(app, args)
        if audience is None:
            return EXIT_USAGE
        now = app.services.clock()
        at = _typed(args.at, "--at", settings, now)
        expires = _typed(args.expires, "--expires", settings, now)
        if at is False or expires is False:
            return EXIT_USAGE
        if at is not None and not at.has_time:
            say("dates.needs_time", err=True, option="--at", value=args.at)
            return EXIT_USAGE
        start = at.moment if at is not None else None
        # A day without a time: the announcement may wait until that day is over.
        end = None
        if expires is not None:
            end = expires.moment if expires.has_time else expires.moment + timedelta(days=1)
        count = await app.outreach.audience_size(audience)
        if args.dry_run:
            say("announce.recipients", count=number(count))
            print("----")
            print(plain(body))
            return EXIT_OK
        if not args.yes:
            answer = _confirmed("announce.confirm", count=number(count))
            if answer is None:
                say("announce.needs_yes", err=True, count=number(count))
                return EXIT_USAGE
            if not answer:
                say("announce.not_sent", err=True)
                return EXIT_PROBLEMS
        announcement = await app.outreach.announce(
            "cli",
            body,
            audience,
            photo=str(args.photo.resolve()) if args.photo else None,
            at=start,
            expires=end,
        )
        if start is not None and start > now:
            say(
                "announce.scheduled",
                id=announcement.id,
                count=number(count),
                when=_local(app, start),
            )
        else:
            say("announce.now", id=announcement.id, count=number(count))
        if args.wait:
            return await _wait_for(app, announcement.id)
        return EXIT_OK
    finally:
        await app.close()


def _typed(value: str | None, option: str, settings: Settings, now: Any) -> Typed | bool | None:
    """A date typed in one of the accepted forms (bot.core.dates); None when not given; False,
    after one line saying so, when it is no date."""
    from bot.core.dates import parse_local

    if value is None:
        return None
    typed = parse_local(value, settings.timezone, now)
    if typed is None:
        say("dates.invalid", err=True, option=option, value=value)
        return False
    return typed


def _local(app: Any, moment: Any) -> str:
    """ "Thứ Bảy, 05/12/2026 08:00": a moment in the installation's time zone."""
    local = moment.astimezone(app.settings.timezone)
    return f"{app.services.i18n.date(_locale(app), local)} {local:%H:%M}"


def _locale(app: Any) -> str:
    """The content's language closest to the output's (figures, event titles)."""
    locales = app.catalog.campaign.locales
    return (
        saying.language() if saying.language() in locales else app.catalog.campaign.default_locale
    )


def _confirmed(key: str, **values: Any) -> bool | None:
    """Ask the person at the terminal; None when nobody can answer (no terminal: a script or a
    pipe must say --yes instead)."""
    from bot.core.text import fold

    if sys.stdin is None or not sys.stdin.isatty():
        return None
    say(key, end=" ", **values)
    return fold(sys.stdin.readline()) in YES


YES = frozenset({"c", "co", "y", "yes"})  # "có" folds to "co"


def _audience(app: Any, args: argparse.Namespace) -> Any:
    """The announcement's audience from --area (code or name), --role (id or label), --lang,
    --topic and --not-met; None after saying what is wrong and what is valid."""
    from bot.services.outreach import AudienceFilter

    catalog = app.catalog
    areas = []
    for value in args.area:
        found = catalog.areas.resolve(value)
        if isinstance(found, list):
            key = "audience.ambiguous_area" if found else "audience.unknown_area"
            say(key, err=True, value=value, choices=_areas_text(found or catalog.areas.all))
            return None
        areas.append(found.code)
    roles = []
    for value in args.role:
        role = catalog.campaign.find_role(value)
        if role is None:
            choices = ", ".join(
                f"{role.label.get(_locale(app))} ({role.id})" for role in catalog.campaign.roles
            )
            say("audience.unknown_role", err=True, value=value, choices=choices)
            return None
        roles.append(role.id)
    if args.lang and args.lang not in catalog.campaign.locales:
        say("audience.unknown_lang", err=True, choices=", ".join(catalog.campaign.locales))
        return None
    if args.not_met and catalog.campaign.title(args.not_met) is None:
        choices = ", ".join(t.id for t in catalog.campaign.titles)
        say("audience.unknown_title", err=True, value=args.not_met, choices=choices)
        return None
    if areas or roles:
        named = [_area_name(catalog.areas.get(code)) for code in areas]
        named += [catalog.campaign.role(r).label.get(_locale(app)) for r in roles]
        say("announce.audience", who=" · ".join(named))
    return AudienceFilter(
        areas=tuple(areas),
        roles=tuple(roles),
        locale=args.lang,
        topics=tuple(args.topic),
        not_met=args.not_met,
    )


def _area_name(area: Any) -> str:
    return f"{text(f'area_type.{area.type}')} {area.name} ({area.code})"


def _areas_text(areas: Any) -> str:
    """Areas to choose from, wrapped for a terminal."""
    import textwrap

    return textwrap.fill(
        ", ".join(_area_name(a) for a in areas),
        width=100,
        initial_indent="  ",
        subsequent_indent="  ",
    )


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
            progress = text(
                "announce.progress",
                done=number(done),
                total=number(total),
                sent=number(counts["sent"]),
                failed=number(counts["failed"]),
                blocked=number(counts["blocked"]),
            )
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {progress}", end="", flush=True)
        if announcement is None or announcement.status in ("done", "cancelled"):
            print()
            return EXIT_OK
        await asyncio.sleep(0.5)


async def _backup_restore(settings: Settings, args: argparse.Namespace) -> int:
    if settings.database_url is not None:
        if args.command == "backup":
            return await _pg_backup(settings, settings.database_url, args.out)
        from bot.store.pg import safe_url

        say("postgres.restore_with_pg_restore", err=True, database=safe_url(settings.database_url))
        return EXIT_USAGE
    if args.command == "backup":
        return await _backup(settings, args.out)
    return await _restore(settings, args.file, args.yes)


async def _pg_backup(settings: Settings, url: str, out: Path | None) -> int:
    """`khuyenhoc backup` on PostgreSQL: pg_dump's custom format, and how to restore it."""
    from datetime import datetime

    from bot.store.copy import PgDumpMissing, pg_dump
    from bot.store.pg import safe_url

    if out is None:
        if settings.backup_dir is None:
            say("backup.no_folder", err=True)
            return EXIT_USAGE
        out = settings.backup_dir / f"manual-{datetime.now(settings.timezone):%Y%m%d-%H%M%S}.dump"
    try:
        await pg_dump(url, out)
    except PgDumpMissing:
        say("postgres.no_pg_dump", err=True)
        return EXIT_PROBLEMS
    except (OSError, RuntimeError) as exc:
        say("backup.failed", err=True, problem=exc)
        return EXIT_PROBLEMS
    say("postgres.backup_done", path=out, database=safe_url(url))
    return EXIT_OK


async def _to_postgres(
    settings: Settings, source: Path | None, target: str | None, force: bool
) -> int:
    """`khuyenhoc migrate-to-postgres`: copy the SQLite file into PostgreSQL and verify it."""
    from bot.store.copy import CopyMismatch, SourceNotCurrent, TableCopy, TargetNotEmpty
    from bot.store.db import is_url
    from bot.store.files import NotOurDatabase
    from bot.store.pg import safe_url

    source = source or settings.database_path
    target = target or settings.database_url
    if target is None:
        say("postgres.no_target", err=True)
        return EXIT_USAGE
    if not is_url(target):
        say("postgres.bad_target", err=True)
        return EXIT_USAGE
    if not source.is_file():
        say("restore.no_file", err=True, path=source)
        return EXIT_USAGE
    shown = safe_url(target)
    say("postgres.copying", source=source, target=shown)
    copied: list[TableCopy] = []

    def verified(table: TableCopy) -> None:
        copied.append(table)
        say("postgres.table", table=table.table, rows=number(table.rows), checksum=table.checksum)

    from bot.store.copy import sqlite_to_postgres

    try:
        await sqlite_to_postgres(source, target, force=force, progress=verified)
    except NotOurDatabase as exc:
        say("restore.not_ours", err=True, path=source, problem=exc)
        return EXIT_PROBLEMS
    except SourceNotCurrent:
        say("postgres.not_current", err=True, path=source)
        return EXIT_PROBLEMS
    except TargetNotEmpty as exc:
        say("postgres.not_empty", err=True, table=exc.table, rows=number(exc.rows))
        return EXIT_PROBLEMS
    except CopyMismatch as exc:
        say("postgres.mismatch", err=True, problem=exc)
        return EXIT_PROBLEMS
    rows = sum(table.rows for table in copied)
    say("postgres.done", tables=len(copied), rows=number(rows), source=source, target=shown)
    return EXIT_OK


async def _backup(settings: Settings, out: Path | None) -> int:
    from datetime import datetime

    from bot.services import maintenance

    database = settings.database_path
    now = datetime.now(settings.timezone)
    if out is None:
        if settings.backup_dir is None:
            say("backup.no_folder", err=True)
            return EXIT_USAGE
        # Not named like the daily backups: BACKUP_KEEP's rotation never removes these.
        out = settings.backup_dir / f"manual-{now:%Y%m%d-%H%M%S}.sqlite3"
    try:
        out = await maintenance.backup(database, out, now)
    except maintenance.BackupFailed as exc:
        say("backup.failed", err=True, problem=exc)
        return EXIT_PROBLEMS
    say("backup.done", path=out, database=database)
    return EXIT_OK


async def _restore(settings: Settings, file: Path, yes: bool) -> int:
    """Replace the database with a backup, after the checks and the question (maintenance.restore
    says in which order); every refusal is one line and changes nothing."""
    from datetime import datetime

    from bot.core.text import fold
    from bot.services import maintenance
    from bot.store.files import FileFacts, NotOurDatabase

    database = settings.database_path
    # A fresh home (data/ made by `init`) may receive a backup; a folder that is no home may not.
    if not database.is_file() and not database.parent.is_dir():
        no_database(settings)
        return EXIT_USAGE
    if not file.is_file():
        say("restore.no_file", err=True, path=file)
        return EXIT_USAGE

    def taken(facts: FileFacts) -> str:
        return f"{facts.taken_at.astimezone(settings.timezone):%Y-%m-%d %H:%M}"

    def confirm(facts: FileFacts) -> bool:
        if yes:
            return True
        say("restore.question", end="", when=taken(facts))
        answer = fold(sys.stdin.readline())
        print()
        return answer == "co"  # "có" folded; a destructive step takes the whole word

    try:
        restored = await maintenance.restore(
            file, database, confirm=confirm, now=datetime.now(settings.timezone)
        )
    except NotOurDatabase as exc:
        say("restore.not_ours", err=True, path=file, problem=exc)
        return EXIT_PROBLEMS
    except maintenance.DatabaseInUse:
        say("restore.in_use", err=True, path=database)
        return EXIT_PROBLEMS
    except maintenance.RestoreCancelled:
        say("restore.cancelled", err=True)
        return EXIT_PROBLEMS
    if restored.safety_copy is not None:
        say("restore.safety_copy", path=restored.safety_copy)
    say("restore.done", path=database, file=file, when=taken(restored.backup))
    return EXIT_OK


async def _reports(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.text import plain
    from bot.services.reports import figures_text, titles_chart
    from bot.store import private

    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        now = app.services.clock()
        reports, i18n = app.services.reports, app.services.i18n
        locale = _locale(app)
        if args.command == "stats":
            figures = await reports.figures(now)
            local_now = now.astimezone(settings.timezone)
            print(plain(figures_text(i18n, locale, figures, app.catalog, local_now)))
            if args.chart:
                chart = titles_chart(i18n, locale, figures, local_now)
                if chart is None:
                    say("stats.no_chart", err=True)
                    return EXIT_PROBLEMS
                private.write(args.chart, chart)
                say("stats.chart_written", path=args.chart)
            return EXIT_OK
        if args.out.suffix.lower() == ".xlsx" or args.what == "announcements":
            return await cli_content.export_xlsx(app, args, now)
        if args.what == "members":
            data = await reports.export_members(now)
        else:
            start = _typed(args.start, "--from", settings, now)
            end = _typed(args.end, "--to", settings, now)
            if start is False or end is False:
                return EXIT_USAGE
            # A day given alone is the whole of it: --to 31/12/2026 includes that day.
            until = None
            if end is not None:
                until = end.moment if end.has_time else end.moment + timedelta(days=1)
            data = await reports.export_assessments(start.moment if start else None, until)
        private.write(args.out, data)  # members' data: readable by the bot's user only
        rows = data.decode("utf-8-sig").count("\n") - 1
        say("export.written", path=args.out, rows=number(rows))
        return EXIT_OK
    finally:
        await app.close()


async def _events(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.text import plain

    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    reminders = app.services.reminders
    locale = _locale(app)
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
                say("events.no_such", err=True, id=args.event_id)
                return EXIT_PROBLEMS
            await app.store.staff.audit("cli", "event_cancel", event=args.event_id)
            say("events.cancelled", id=args.event_id)
            return EXIT_OK
        now = app.services.clock()
        typed = _typed(args.at, "--at", settings, now)
        if typed is False:
            return EXIT_USAGE
        local_now = now.astimezone(settings.timezone)
        if (
            (typed.moment < local_now)
            if typed.has_time
            else (typed.moment.date() < local_now.date())
        ):
            say("events.past", err=True, value=args.at, now=_local(app, now))
            return EXIT_USAGE
        start = f"{typed.moment:%Y-%m-%d %H:%M}" if typed.has_time else f"{typed.moment:%Y-%m-%d}"
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
        when = (
            _local(app, typed.moment)
            if typed.has_time
            else app.services.i18n.date(locale, typed.moment)
        )
        say("events.added", id=event_id, title=args.title, when=when)
        return EXIT_OK
    finally:
        await app.close()


async def _announcements(settings: Settings) -> int:
    """Every announcement, its status and when it goes (or went) out, in local time."""
    from bot.store import Store

    store = await Store.open(settings.database)
    try:
        rows = await store.announcements.listing(
            ["draft", "scheduled", "sending", "done", "cancelled"], limit=1000
        )
        print(
            f"{text('announcements.id'):>5}  {text('announcements.status'):<14} "
            f"{text('announcements.when'):<17} {text('announcements.total'):>7} "
            f"{text('announcements.sent'):>7}  {text('announcements.text')}"
        )
        for a in rows:
            counts = await store.announcements.counts(a.id)
            moment = (a.scheduled_at or a.created_at).astimezone(settings.timezone)
            first = " ".join(a.text.split())[:40]
            status = text(f"status.{a.status}")
            print(
                f"{a.id:>5}  {status:<14} {moment:%d/%m/%Y %H:%M} "
                f"{number(a.total):>7} {number(counts['sent']):>7}  {first}"
            )
        say("announcements.zone", zone=settings.timezone.key)
    finally:
        await store.close()
    return EXIT_OK


async def _cancel_announcement(settings: Settings, announcement_id: int) -> int:
    """`khuyenhoc announcements cancel ID`: call off one still waiting for its time."""
    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        found = await app.outreach.get(announcement_id)
        if found is None:
            say("cancel.no_such", err=True, id=announcement_id)
            return EXIT_USAGE
        if await app.outreach.cancel(announcement_id) is None:
            say(
                "cancel.too_late",
                err=True,
                id=announcement_id,
                status=text(f"status.{found.status}"),
            )
            return EXIT_PROBLEMS
        await app.store.staff.audit("cli", "announcement_cancel", announcement=announcement_id)
    finally:
        await app.close()
    say("cancel.done", id=announcement_id)
    return EXIT_OK


async def _resend(settings: Settings, announcement_id: int) -> int:
    """`khuyenhoc announcements resend ID`: a new announcement for those ID missed."""
    from bot.records import DONE

    app = await _open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    try:
        found = await app.outreach.get(announcement_id)
        if found is None:
            say("cancel.no_such", err=True, id=announcement_id)
            return EXIT_USAGE
        if found.status != DONE:
            say(
                "resend.not_done",
                err=True,
                id=announcement_id,
                status=text(f"status.{found.status}"),
            )
            return EXIT_USAGE
        again = await app.outreach.resend_missed(announcement_id, "cli")
    finally:
        await app.close()
    if again is None:
        say("resend.nobody", id=announcement_id)
        return EXIT_OK
    say("resend.recorded", id=again.id, original=announcement_id)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
