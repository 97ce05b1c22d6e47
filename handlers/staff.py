"""Staff in chat: the staff menu (what each role may do) and roles (/admins) — super admins
(ADMIN_IDS) grant and revoke the admin, editor and officer roles, for the whole city or for
wards/communes named the way people type them ("/admins grant 3003 editor Hòa An, Ninh Kiều"),
by button or typed.

Roles are the staff service's: it audits every change and tells the channels (a staff member's
command menu follows their role), so this module only asks and shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.roles import ADMIN, EDITOR, GRANTABLE, OFFICER, SUPER, allowed
from bot.core.router import Router
from bot.records import User
from bot.services.staff import find_area
from handlers import announce, helper, inbox
from handlers.menu import home_button
from handlers.profile import area_label

router = Router("staff")

# Kept in members' sessions: the name stays what it was before the split.
GRANT_STATE = "admin.grant"
GRANT_AREA_STATE = "branches.grant_area"
CITY = "-"  # the area of a grant for the whole city
# Typed forms of /admins: "/admins grant 3003 admin", "/admins revoke 3003" (and Vietnamese).
GRANT_WORDS = ("grant", "cap")
REVOKE_WORDS = ("revoke", "thuhoi")


@action("xw")
@dataclass(frozen=True)
class ChooseRole:
    user: int
    role: str


@action("xg")
@dataclass(frozen=True)
class Grant:
    user: int
    role: str
    area: str  # an area code, or CITY


@action("xq")
@dataclass(frozen=True)
class Revoke:
    user: int


@action("xm")
@dataclass(frozen=True)
class StaffGo:
    what: str  # one of STAFF_ITEMS


STAFF_ITEMS = (
    ("inbox", OFFICER),
    ("helper", OFFICER),
    ("announce", EDITOR),
    ("scheduled", EDITOR),
    ("report", ADMIN),
    ("approvals", ADMIN),
    ("admins", SUPER),
)


def _name(user: User) -> str:
    return user.display_name or user.external_id


# -- the staff menu ---------------------------------------------------------------------------
@router.section("staff", "menu.staff", order=70, role=OFFICER)
async def staff_section(ctx: Context) -> None:
    buttons = [
        ctx.button(_go_label(what), StaffGo(what))
        for what, role in STAFF_ITEMS
        if allowed(ctx.staff_role, role) and (what != "approvals" or ctx.scope.may_approve())
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)] + [[home_button(ctx)]]
    ctx.reply(
        ctx.t("admin.staff_menu", role=role_name(ctx, ctx.staff_role or EDITOR)),
        rows,
        edit=ctx.pressed,
    )


def _go_label(what: str) -> str:
    new = ("inbox", "helper", "approvals")  # the branches' items, in their own section
    return f"branches.buttons.go_{what}" if what in new else f"admin.buttons.go_{what}"


@router.action(StaffGo, role=OFFICER)
async def staff_go(ctx: Context, act: StaffGo) -> None:
    needed = dict(STAFF_ITEMS).get(act.what)
    if needed is None or not allowed(ctx.staff_role, needed):
        raise StaleButton(f"staff item {act.what!r} not for {ctx.staff_role}")
    handlers = {
        "announce": announce.announce,
        "scheduled": announce.scheduled,
        "report": announce.report,
        "approvals": announce.approvals,
        "inbox": inbox.inbox,
        "helper": helper.helper,
        "admins": admins,
    }
    await handlers[act.what](ctx)


# -- roles ------------------------------------------------------------------------------------
def role_name(ctx: Context, role: str) -> str:
    return str(ctx.t("branches.role." + role))


def scope_words(ctx: Context, areas: tuple[str, ...] | list[str]) -> str:
    """ "toàn thành phố", or the areas by name: "phường Ninh Kiều, xã Hòa An"."""
    if not areas:
        return str(ctx.t("branches.city"))
    return ", ".join(area_label(ctx, code) or code for code in areas)


@router.command("admins", role=SUPER)
async def admins(ctx: Context) -> None:
    words = ctx.inbound.args.split()
    if len(words) >= 2 and words[0] in GRANT_WORDS + REVOKE_WORDS:
        await _typed_role_change(ctx, words)
        return
    await show_staff(ctx)


async def show_staff(ctx: Context, *, intro: str = "") -> None:
    members = await ctx.services.staff.members()
    lines = [ctx.t("admin.staff_title")]
    rows = []
    for member in members:
        lines.append(
            ctx.t(
                "branches.staff_line",
                name=member.name,
                id=member.external_id,
                role=role_name(ctx, member.role),
                scope=scope_words(ctx, member.areas),
            )
        )
        rows.append([ctx.button("admin.buttons.revoke", Revoke(member.user_id), name=member.name)])
    if not members:
        lines.append(ctx.t("admin.staff_none"))
    lines.append(ctx.t("admin.staff_how"))
    lines.append(ctx.t("branches.staff_typed"))
    ctx.set_state(GRANT_STATE)
    rows.append([home_button(ctx)])
    text = "\n".join(lines)
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows, edit=ctx.pressed)


@router.state(GRANT_STATE, role=SUPER)
async def grant_typed(ctx: Context, text: str) -> None:
    """The super admin typed a member's id: ask which role to give."""
    target = await ctx.services.staff.find(ctx.user.channel, text.strip())
    if target is None:
        ctx.reply(ctx.t("admin.unknown_member", id=text.strip()[:20]))
        return
    ctx.clear_state()
    ctx.reply(
        ctx.t("admin.grant_which", name=_name(target)),
        [
            [Button(role_name(ctx, role), action=ChooseRole(target.id, role).pack())]
            for role in GRANTABLE
        ]
        + [[home_button(ctx)]],
    )


@router.action(ChooseRole, role=SUPER)
async def choose_role(ctx: Context, act: ChooseRole) -> None:
    """A role is chosen: for the whole city, or for a ward/commune typed next."""
    target = await ctx.services.staff.get(act.user)
    if target is None or act.role not in GRANTABLE:
        raise StaleButton(f"cannot grant {act.role} to {act.user}")
    ctx.set_state(GRANT_AREA_STATE, user=target.id, role=act.role)
    ctx.reply(
        ctx.t("branches.grant_where", name=_name(target), role=role_name(ctx, act.role)),
        [
            [ctx.button("branches.buttons.city", Grant(target.id, act.role, CITY))],
            [home_button(ctx)],
        ],
        edit=ctx.pressed,
    )


@router.state(GRANT_AREA_STATE, role=SUPER)
async def grant_area_typed(ctx: Context, text: str) -> None:
    """The super admin typed a ward/commune for the role being granted."""
    user, role = int(ctx.session.data.get("user", 0)), str(ctx.session.data.get("role", ""))
    area, candidates = find_area(ctx.services.catalog.areas, text[:64])
    if area is not None:
        ctx.clear_state()
        await grant(ctx, Grant(user, role, area.code))
        return
    if not candidates:
        ctx.reply(ctx.t("profile.area_not_found", query=text[:64]))
        return
    ctx.reply(
        ctx.t("branches.area_which"),
        [
            [Button(area_label(ctx, a.code), action=Grant(user, role, a.code).pack())]
            for a in candidates
        ]
        + [[home_button(ctx)]],
    )


async def _typed_role_change(ctx: Context, words: list[str]) -> None:
    target = await ctx.services.staff.find(ctx.user.channel, words[1])
    if target is None:
        ctx.reply(ctx.t("admin.unknown_member", id=words[1][:20]))
        return
    if words[0] in REVOKE_WORDS:
        # A typed command has no stale button to blame: someone without a role just gets the list.
        if await ctx.services.staff.role_of(target) in GRANTABLE:
            await revoke(ctx, Revoke(target.id))
        else:
            await show_staff(ctx)
        return
    if len(words) < 3 or words[2] not in GRANTABLE:
        await show_staff(ctx)
        return
    codes = []
    for name in " ".join(words[3:]).split(","):
        if not name.strip():
            continue
        area, candidates = find_area(ctx.services.catalog.areas, name.strip()[:64])
        if area is None:
            key = "branches.area_unclear" if candidates else "profile.area_not_found"
            found = ", ".join(area_label(ctx, a.code) for a in candidates)
            ctx.reply(ctx.t(key, query=name.strip()[:64], found=found))
            return
        codes.append(area.code)
    await ctx.services.staff.grant(target, words[2], ctx.actor, codes)
    await _granted(ctx, target, words[2], codes)


async def _granted(
    ctx: Context, target: User, role: str, codes: list[str] | tuple[str, ...]
) -> None:
    intro = ctx.t(
        "branches.granted",
        name=_name(target),
        role=role_name(ctx, role),
        scope=scope_words(ctx, codes),
    )
    await show_staff(ctx, intro=intro)


@router.action(Grant, role=SUPER)
async def grant(ctx: Context, act: Grant) -> None:
    """Grant a role for the city (CITY) or add one area to the role's areas."""
    staff = ctx.services.staff
    target = await staff.get(act.user)
    if target is None or act.role not in GRANTABLE:
        raise StaleButton(f"cannot grant {act.role} to {act.user}")
    codes: tuple[str, ...] = ()
    if act.area != CITY:
        if ctx.services.catalog.areas.get(act.area) is None:
            raise StaleButton(f"unknown area {act.area}")
        held = await staff.scope_of(target)
        kept = held.codes if held.role == act.role and held.branch else ()
        codes = tuple(dict.fromkeys((*kept, act.area)))
    ctx.clear_state()
    await staff.grant(target, act.role, ctx.actor, codes)
    await _granted(ctx, target, act.role, codes)


@router.action(Revoke, role=SUPER)
async def revoke(ctx: Context, act: Revoke) -> None:
    target = await ctx.services.staff.get(act.user)
    if target is None or not await ctx.services.staff.revoke(target, ctx.actor):
        raise StaleButton(f"{act.user} has no staff role")
    await show_staff(ctx, intro=ctx.t("admin.revoked", name=_name(target)))


# -- the audit log (super admins) -------------------------------------------------------------
AUDIT_LINES = 20


@router.command("audit", role=SUPER)
async def audit(ctx: Context) -> None:
    """The latest staff actions: "/audit", "/audit 3003" (one actor, by their id on this
    channel, or "cli"), "/audit 2026-10-01" (since that day)."""
    since, who = None, None
    for word in ctx.inbound.args.split()[:2]:
        try:
            day = datetime.strptime(word, "%Y-%m-%d")
            since = day.replace(tzinfo=ctx.services.settings.timezone)
        except ValueError:
            who = word if ":" in word or word == "cli" else f"{ctx.user.channel}:{word}"
    entries = await ctx.services.staff.audit_trail(AUDIT_LINES, since=since, who=who)
    tz = ctx.services.settings.timezone
    lines = [ctx.t("branches.audit_title", count=len(entries))]
    for entry in entries:
        lines.append(
            ctx.t(
                "branches.audit_line",
                when=f"{entry.at.astimezone(tz):%d/%m %H:%M}",
                who=entry.actor,
                what=entry.action,
                scope=scope_words(ctx, entry.scope),
                detail=", ".join(f"{k}={_flat(v)}" for k, v in entry.detail.items())[:200],
            )
        )
    if not entries:
        lines.append(ctx.t("branches.audit_none"))
    ctx.reply("\n".join(str(line) for line in lines), [[home_button(ctx)]])


def _flat(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
