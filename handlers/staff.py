"""Staff in chat: the staff menu (what each role may do) and roles (/admins) — super admins
(ADMIN_IDS) grant and revoke the admin and editor roles, by button or typed.

Roles are the staff service's: it audits every change and tells the channels (a staff member's
command menu follows their role), so this module only asks and shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.roles import ADMIN, EDITOR, GRANTABLE, SUPER, allowed
from bot.core.router import Router
from bot.records import User
from handlers import announce
from handlers.menu import home_button

router = Router("staff")

# Kept in members' sessions: the name stays what it was before the split.
GRANT_STATE = "admin.grant"
# Typed forms of /admins: "/admins grant 3003 admin", "/admins revoke 3003" (and Vietnamese).
GRANT_WORDS = ("grant", "cap")
REVOKE_WORDS = ("revoke", "thuhoi")


@action("xg")
@dataclass(frozen=True)
class Grant:
    user: int
    role: str


@action("xq")
@dataclass(frozen=True)
class Revoke:
    user: int


@action("xm")
@dataclass(frozen=True)
class StaffGo:
    what: str  # announce | scheduled | report | admins


STAFF_ITEMS = (("announce", EDITOR), ("scheduled", EDITOR), ("report", ADMIN), ("admins", SUPER))


def _name(user: User) -> str:
    return user.display_name or user.external_id


# -- the staff menu ---------------------------------------------------------------------------
@router.section("staff", "menu.staff", order=70, role=EDITOR)
async def staff_section(ctx: Context) -> None:
    buttons = [
        ctx.button(f"admin.buttons.go_{what}", StaffGo(what))
        for what, role in STAFF_ITEMS
        if allowed(ctx.staff_role, role)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)] + [[home_button(ctx)]]
    ctx.reply(
        ctx.t("admin.staff_menu", role=ctx.t("admin.role." + (ctx.staff_role or EDITOR))),
        rows,
        edit=ctx.pressed,
    )


@router.action(StaffGo, role=EDITOR)
async def staff_go(ctx: Context, act: StaffGo) -> None:
    needed = dict(STAFF_ITEMS).get(act.what)
    if needed is None or not allowed(ctx.staff_role, needed):
        raise StaleButton(f"staff item {act.what!r} not for {ctx.staff_role}")
    handlers = {
        "announce": announce.announce,
        "scheduled": announce.scheduled,
        "report": announce.report,
        "admins": admins,
    }
    await handlers[act.what](ctx)


# -- roles ------------------------------------------------------------------------------------
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
                "admin.staff_line",
                name=member.name,
                id=member.external_id,
                role=ctx.t("admin.role." + member.role),
            )
        )
        rows.append([ctx.button("admin.buttons.revoke", Revoke(member.user_id), name=member.name)])
    if not members:
        lines.append(ctx.t("admin.staff_none"))
    lines.append(ctx.t("admin.staff_how"))
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
            [ctx.button("admin.role." + role, Grant(target.id, role)) for role in GRANTABLE],
            [home_button(ctx)],
        ],
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
    elif len(words) >= 3 and words[2] in GRANTABLE:
        await grant(ctx, Grant(target.id, words[2]))
    else:
        await show_staff(ctx)


@router.action(Grant, role=SUPER)
async def grant(ctx: Context, act: Grant) -> None:
    target = await ctx.services.staff.get(act.user)
    if target is None or act.role not in GRANTABLE:
        raise StaleButton(f"cannot grant {act.role} to {act.user}")
    await ctx.services.staff.grant(target, act.role, ctx.actor)
    await show_staff(
        ctx,
        intro=ctx.t("admin.granted", name=_name(target), role=ctx.t("admin.role." + act.role)),
    )


@router.action(Revoke, role=SUPER)
async def revoke(ctx: Context, act: Revoke) -> None:
    target = await ctx.services.staff.get(act.user)
    if target is None or not await ctx.services.staff.revoke(target, ctx.actor):
        raise StaleButton(f"{act.user} has no staff role")
    await show_staff(ctx, intro=ctx.t("admin.revoked", name=_name(target)))
