"""`khuyenhoc admins` (grant, revoke, list staff roles with their scope) and `khuyenhoc audit`
(what staff did), for the operator at the machine. Output is Vietnamese, from content/locales
(the `branches.cli` keys); a mistake is one line on stderr and exit 2, never a traceback.

Roles change through the staff service, as in the chat, so every change is audited (actor "cli")
and a running bot sees it on its next update (bot/store/outreach.py `Staff`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.core.dates import parse_local
from bot.core.roles import GRANTABLE
from bot.core.text import plain
from bot.say import language, text
from bot.say import say as say_cli
from bot.services.staff import find_area

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
CLI_ACTOR = "cli"


def add_parsers(sub: Any) -> None:
    """The `admins` and `audit` subcommands, on the main parser's subparsers."""
    admins = sub.add_parser("admins", help=text("help.admins"))
    admins_sub = admins.add_subparsers(dest="admins_command", required=True)
    grant = admins_sub.add_parser("grant", help=text("help.admins_grant"))
    grant.add_argument("id", help=text("help.admins_id"))
    grant.add_argument("--role", required=True, choices=GRANTABLE, help=text("help.admins_role"))
    grant.add_argument("--area", action="append", default=[], help=text("help.admins_area"))
    grant.add_argument("--channel", default="telegram", help=text("help.admins_channel"))
    revoke = admins_sub.add_parser("revoke", help=text("help.admins_revoke"))
    revoke.add_argument("id", help=text("help.admins_id"))
    revoke.add_argument("--role", choices=GRANTABLE, help=text("help.admins_revoke_role"))
    revoke.add_argument("--channel", default="telegram", help=text("help.admins_channel"))
    admins_sub.add_parser("list", help=text("help.admins_list"))

    audit = sub.add_parser("audit", help=text("help.audit"))
    audit.add_argument("--since", help=text("help.audit_since"))
    audit.add_argument("--who", help=text("help.audit_who"))
    audit.add_argument("--limit", type=int, default=100, help=text("help.audit_limit"))


async def admins_command(settings: Settings, args: argparse.Namespace, open_app: Any) -> int:
    app = await open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    say = _sayer(app)
    try:
        staff = app.services.staff
        if args.admins_command == "list":
            members = await staff.members()
            if not members:
                print(say("branches.cli.nobody"))
            for member in members:
                print(
                    say(
                        "branches.cli.line",
                        ref=member.ref,
                        name=member.name,
                        role=say("branches.role." + member.role),
                        scope=_scope_words(app, say, member.areas),
                    )
                )
            return EXIT_OK
        target = await staff.find(args.channel, args.id)
        if target is None:
            print(say("branches.cli.unknown_member", id=args.id[:20]), file=sys.stderr)
            return EXIT_USAGE
        name = target.display_name or target.external_id
        if args.admins_command == "revoke":
            held = await staff.role_of(target)
            if held is None or held not in GRANTABLE or (args.role and args.role != held):
                print(say("branches.cli.no_role", name=name), file=sys.stderr)
                return EXIT_USAGE
            await staff.revoke(target, CLI_ACTOR)
            print(say("branches.cli.revoked", name=name))
            return EXIT_OK
        codes = []
        for text in args.area:
            code = _area_code(app, say, text)
            if code is None:
                return EXIT_USAGE
            codes.append(code)
        await staff.grant(target, args.role, CLI_ACTOR, codes)
        print(
            say(
                "branches.cli.granted",
                name=name,
                role=say("branches.role." + args.role),
                scope=_scope_words(app, say, codes),
            )
        )
        return EXIT_OK
    finally:
        await app.close()


async def audit_command(settings: Settings, args: argparse.Namespace, open_app: Any) -> int:
    since = None
    if args.since:
        typed = parse_local(args.since, settings.timezone, datetime.now(settings.timezone))
        if typed is None:
            say_cli("dates.invalid", err=True, option="--since", value=args.since)
            return EXIT_USAGE
        since = typed.moment
    who = args.who
    if who and ":" not in who and who != CLI_ACTOR:
        who = f"telegram:{who}"
    app = await open_app(settings)
    if app is None:
        return EXIT_PROBLEMS
    say = _sayer(app)
    try:
        entries = await app.services.staff.audit_trail(args.limit, since=since, who=who)
        if not entries:
            print(say("branches.cli.audit_none"))
        for entry in entries:
            local = entry.at.astimezone(settings.timezone)
            detail = ", ".join(f"{k}={_flat(v)}" for k, v in entry.detail.items())
            print(
                f"{local:%Y-%m-%d %H:%M}  {entry.actor:<22} {entry.action:<16} "
                f"[{_scope_words(app, say, entry.scope)}] {detail}"
            )
        return EXIT_OK
    finally:
        await app.close()


def _sayer(app: Any) -> Any:
    """Role and area words come from the campaign's content, in the language of the output."""
    locale = language() if language() in app.catalog.campaign.locales else None
    locale = locale or app.catalog.campaign.default_locale
    i18n = app.services.i18n
    return lambda key, **params: plain(i18n.t(locale, key, **params))


def _area_code(app: Any, say: Any, text: str) -> str | None:
    """The area `text` names (or its code), or None after printing one line on stderr."""
    areas = app.catalog.areas
    if areas.get(text.strip()) is not None:
        return text.strip()
    area, candidates = find_area(areas, text)
    if area is not None:
        return area.code
    if candidates:
        found = ", ".join(_area_name(app, say, a.code) for a in candidates)
        print(say("branches.area_unclear", query=text[:64], found=found), file=sys.stderr)
    else:
        print(say("branches.cli.unknown_area", query=text[:64]), file=sys.stderr)
    return None


def _area_name(app: Any, say: Any, code: str) -> str:
    area = app.catalog.areas.get(code)
    return f"{say('area.type.' + area.type)} {area.name}" if area else code


def _scope_words(app: Any, say: Any, codes: Any) -> str:
    if not codes:
        return say("branches.city")
    return ", ".join(_area_name(app, say, code) for code in codes)


def _flat(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
