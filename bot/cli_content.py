"""`khuyenhoc content export|import|preview|publish|versions|rollback`: the staff's content
round trip from the command line. What it prints comes from content/locales (content_tools.cli),
in the default language; the work is done by bot.services.content."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.say import text
from bot.services.content import change_lines

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
ACTOR = "cli"
CHAT_DB = "chat.sqlite3"  # `khuyenhoc chat`'s own database (bot.cli.CHAT_DATABASE)


def add_parsers(content_sub: Any) -> None:
    export = content_sub.add_parser("export", help=text("help.content_export"))
    export.add_argument("--out", type=Path, required=True, help=text("help.content_export_out"))
    imported = content_sub.add_parser("import", help=text("help.content_import"))
    imported.add_argument("file", type=Path, help=text("help.content_import_file"))
    content_sub.add_parser("preview", help=text("help.content_preview"))
    publish = content_sub.add_parser("publish", help=text("help.content_publish"))
    publish.add_argument("--note", default="", help=text("help.content_note"))
    content_sub.add_parser("versions", help=text("help.content_versions"))
    rollback = content_sub.add_parser("rollback", help=text("help.content_rollback"))
    rollback.add_argument("number", type=int, help=text("help.content_rollback_number"))


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """The subcommand's exit code; None when it is not one of these (`content check`)."""
    command = args.content_command
    if command == "preview":
        return _preview(settings)
    if command in ("export", "import", "publish", "versions", "rollback"):
        return asyncio.run(_run(command, args, settings))
    return None


async def _run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    from bot.catalog import ContentInvalid, load_catalog
    from bot.catalog.live import LiveCatalog
    from bot.services.content import (
        ContentError,
        ContentService,
        current_version,
        live_dir,
        versions_folder,
    )
    from bot.store import Store

    folder = versions_folder(settings.database_path)
    try:
        catalog = LiveCatalog(
            load_catalog(live_dir(folder, settings.content_dir)), current_version(folder)
        )
    except ContentInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    locale = catalog.campaign.default_locale

    def say(key: str, **params: Any) -> str:
        text = catalog.locales.get(locale, f"content_tools.cli.{key}")
        return text.format(**params) if params else text

    # The database only for the audit trail and the versions runs started on: never made here.
    store = await Store.open(settings.database_path) if settings.database_path.is_file() else None
    service = ContentService(
        folder, settings.content_dir, catalog, store, clock=lambda: datetime.now(settings.timezone)
    )
    try:
        if command == "export":
            return _export(service, args.out, say)
        if command == "import":
            return await _import(service, args.file, say)
        if command == "publish":
            try:
                number = await service.publish(ACTOR, args.note)
            except ContentError:
                print(say("no_draft"), file=sys.stderr)
                return EXIT_PROBLEMS
            print(say("published", number=number))
            return EXIT_OK
        if command == "versions":
            print(say("versions"))
            live = service.current()
            print(
                say(
                    "version_row",
                    mark="*" if live == 0 else " ",
                    number=0,
                    when="",
                    actor=say("shipped"),
                )
            )
            for version in service.versions():
                print(
                    say(
                        "version_row",
                        mark="*" if version.live else " ",
                        number=version.number,
                        when=_when(version.published_at),
                        actor=version.actor,
                    )
                )
            return EXIT_OK
        try:
            await service.rollback(args.number, ACTOR)
        except ContentError:
            print(say("no_version", number=args.number), file=sys.stderr)
            return EXIT_PROBLEMS
        print(say("rolled_back", number=args.number))
        return EXIT_OK
    finally:
        if store is not None:
            await store.close()


def _when(stamp: str) -> str:
    """ "2026-10-01T09:30:00+07:00" as staff write it: 01/10/2026 09:30."""
    try:
        return f"{datetime.fromisoformat(stamp):%d/%m/%Y %H:%M}"
    except ValueError:
        return stamp


def _export(service: Any, out: Path, say: Any) -> int:
    from openpyxl import load_workbook

    data = service.export_workbook()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    import io

    book = load_workbook(io.BytesIO(data), read_only=True)
    sheets = book.sheetnames[1:]
    rows = sum(max(book[name].max_row - 1, 0) for name in sheets)
    print(say("written", path=out, rows=rows, sheets=len(sheets)))
    return EXIT_OK


async def _import(service: Any, file: Path, say: Any) -> int:
    from bot.catalog.workbook import MAX_FILE_BYTES

    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:  # not read into memory at all
            mb = f"{size / 1048576:.1f}".replace(".", ",")
            print(say("problems", count=1))
            print(f"  • {service.words()('problem.too_big', size=mb, limit=5)}")
            return EXIT_PROBLEMS
        source = file.read_bytes()
    except OSError:
        print(say("cannot_read", path=file), file=sys.stderr)
        return EXIT_USAGE
    report = await service.import_workbook(source, ACTOR)
    if report.problems:
        print(say("problems", count=len(report.problems)))
        for line in report.problems:
            print(f"  • {line}")
        return EXIT_PROBLEMS
    if report.warnings:
        print(say("warnings", count=len(report.warnings)))
        for line in report.warnings:
            print(f"  • {line}")
    print("\n".join(change_lines(report, say)))
    if report.draft is not None:
        print(say("draft_saved"))
    return EXIT_OK


def _preview(settings: Settings) -> int:
    from bot.app import Terminal, chat
    from bot.catalog import ContentInvalid, load_catalog
    from bot.services.content import DRAFT, live_dir, versions_folder

    folder = versions_folder(settings.database_path)
    try:
        if not (folder / DRAFT).is_dir():
            live = load_catalog(live_dir(folder, settings.content_dir))
            key = "content_tools.cli.no_draft"
            print(live.locales.get(live.campaign.default_locale, key), file=sys.stderr)
            return EXIT_PROBLEMS
        catalog = load_catalog(folder / DRAFT)
    except ContentInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    # The terminal chat's own database: a preview never touches members' data.
    settings = settings.with_overrides(database_path=settings.database_path.with_name(CHAT_DB))
    return asyncio.run(chat(settings, Terminal("xem-thu"), catalog=catalog))


async def export_xlsx(app: Any, args: argparse.Namespace, now: Any) -> int:
    """`khuyenhoc export WHAT --out FILE.xlsx` (announcements: .xlsx only)."""
    from datetime import datetime, timedelta

    from bot.store import private

    if args.out.suffix.lower() != ".xlsx":
        print(f"--out: announcements are exported as .xlsx, not {args.out.name}", file=sys.stderr)
        return EXIT_USAGE
    bounds = []
    for name, value, shift in (("--from", args.start, 0), ("--to", args.end, 1)):
        if value is None:
            bounds.append(None)
            continue
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=app.settings.timezone)
        except ValueError:
            print(f"{name}: expected YYYY-MM-DD, got {value!r}", file=sys.stderr)
            return EXIT_USAGE
        bounds.append(day + timedelta(days=shift))
    data = await app.services.exports.workbook(args.what, now, *bounds)
    private.write(args.out, data)  # members' data: readable by the bot's user only
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = sum(max(book[name].max_row - 1, 0) for name in book.sheetnames[1:])
    catalog = app.catalog
    text = catalog.locales.get(catalog.campaign.default_locale, "content_tools.export.written")
    print(text.format(path=args.out, rows=rows))
    return EXIT_OK
