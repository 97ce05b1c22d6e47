"""Staff work in chat: roles (/admins), composing and sending announcements (/announce), what is
waiting (/scheduled) and delivery reports (/report).

Editors draft; admins send; super admins (ADMIN_IDS) also grant and revoke roles. Every command,
button and conversation state here carries its least role, and the dispatcher refuses (and audits)
anything below it, so a forged button is as powerless as a typed command.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.catalog.i18n import Markup, escape
from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.roles import ADMIN, EDITOR, SUPER
from bot.core.router import Router
from bot.records import CANCELLED, DRAFT, SCHEDULED, Announcement, AudienceFilter
from bot.services.outreach import parse_when
from handlers.menu import home_button
from handlers.profile import area_label, role_label

router = Router("admin")

COMPOSE_STATE = "admin.compose"
AREA_STATE = "admin.area"
TIME_STATE = "admin.time"
GRANT_STATE = "admin.grant"


# -- actions ----------------------------------------------------------------------------------
@action("xa")
@dataclass(frozen=True)
class EditAudience:
    announcement: int
    what: str  # all | area | role | lang | notmet | done


@action("xr")
@dataclass(frozen=True)
class ToggleRole:
    announcement: int
    role: str


@action("xz")
@dataclass(frozen=True)
class ToggleArea:
    announcement: int
    code: str


@action("xl")
@dataclass(frozen=True)
class ChooseLocale:
    announcement: int
    locale: str  # "-" = any


@action("xn")
@dataclass(frozen=True)
class ChooseNotMet:
    announcement: int
    title: str  # "-" = no such filter


@action("xp")
@dataclass(frozen=True)
class Preview:
    announcement: int


@action("xs")
@dataclass(frozen=True)
class SendNow:
    announcement: int


@action("xt")
@dataclass(frozen=True)
class AskTime:
    announcement: int


@action("xk")
@dataclass(frozen=True)
class ConfirmTime:
    announcement: int
    at: int  # UTC epoch seconds


@action("xd")
@dataclass(frozen=True)
class SaveDraft:
    announcement: int


@action("xc")
@dataclass(frozen=True)
class CancelAnnouncement:
    announcement: int


@action("xv")
@dataclass(frozen=True)
class ViewAnnouncement:
    announcement: int


@action("xg")
@dataclass(frozen=True)
class Grant:
    user: int
    role: str


@action("xq")
@dataclass(frozen=True)
class Revoke:
    user: int


# -- helpers ----------------------------------------------------------------------------------
def _num(ctx: Context, value: float) -> str:
    return ctx.services.i18n.number(ctx.locale, value)


def _when(ctx: Context, moment: datetime) -> Markup:
    local = moment.astimezone(ctx.services.settings.timezone)
    i18n = ctx.services.i18n
    return ctx.t("admin.when", date=i18n.date(ctx.locale, local), time=i18n.time(local))


async def _editable(ctx: Context, announcement_id: int) -> Announcement:
    """A draft, or (for admins) a still-waiting announcement; anything else is stale."""
    announcement = await ctx.services.store.announcements.get(announcement_id)
    if announcement is None:
        raise StaleButton(f"no announcement {announcement_id}")
    if announcement.status == DRAFT or (announcement.status == SCHEDULED and ctx.is_admin):
        return announcement
    raise StaleButton(f"announcement {announcement_id} is {announcement.status}")


def describe(ctx: Context, audience: AudienceFilter) -> Markup:
    """The audience in words: "phường Ninh Kiều · Hộ gia đình · Tiếng Việt"."""
    if audience.is_everyone():
        return ctx.t("admin.audience_everyone")
    catalog = ctx.services.catalog
    parts = []
    if audience.areas:
        parts.append(", ".join(area_label(ctx, code) for code in audience.areas))
    if audience.roles:
        parts.append(", ".join(role_label(ctx, role) for role in audience.roles))
    if audience.locale:
        parts.append(catalog.campaign.locale_names.get(audience.locale, audience.locale))
    if audience.topics:
        parts.append(ctx.t("admin.audience_topic", topic=", ".join(audience.topics)))
    if audience.staff_only:
        parts.append(ctx.t("admin.audience_staff"))
    if audience.not_met:
        title = catalog.campaign.title(audience.not_met)
        name = ctx.services.i18n.text(ctx.locale, title.name) if title else audience.not_met
        parts.append(ctx.t("admin.audience_not_met", title=name))
    return Markup(" · ".join(escape(p) for p in parts))


async def _audit(ctx: Context, what: str, **detail: object) -> None:
    await ctx.services.store.staff.audit(ctx.actor, what, **detail)


# -- the staff menu ---------------------------------------------------------------------------
@action("xm")
@dataclass(frozen=True)
class StaffGo:
    what: str  # announce | scheduled | report | admins


STAFF_ITEMS = (("announce", EDITOR), ("scheduled", EDITOR), ("report", ADMIN), ("admins", SUPER))


@router.section("staff", "menu.staff", order=70, role=EDITOR)
async def staff_section(ctx: Context) -> None:
    from bot.core.router import allowed

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
    from bot.core.router import allowed

    needed = dict(STAFF_ITEMS).get(act.what)
    if needed is None or not allowed(ctx.staff_role, needed):
        raise StaleButton(f"staff item {act.what!r} not for {ctx.staff_role}")
    handlers = {"announce": announce, "scheduled": scheduled, "report": report, "admins": admins}
    await handlers[act.what](ctx)


# -- composing --------------------------------------------------------------------------------
@router.command("announce", role=EDITOR)
async def announce(ctx: Context) -> None:
    ctx.set_state(COMPOSE_STATE)
    ctx.reply(ctx.t("admin.compose"), [[home_button(ctx)]])


@router.state(COMPOSE_STATE, media=True, role=EDITOR)
async def composed(ctx: Context, _: str) -> None:
    inbound = ctx.inbound
    if inbound.kind == "media" and inbound.media != "photo":
        ctx.reply(ctx.t("admin.compose_photo_only"), [[home_button(ctx)]])
        return
    html = inbound.html.strip()
    if not html and not inbound.media_id:
        ctx.reply(ctx.t("admin.compose"), [[home_button(ctx)]])
        return
    if len(html) > 4000 or (inbound.media_id and len(html) > 1000):
        ctx.reply(ctx.t("admin.compose_too_long"), [[home_button(ctx)]])
        return
    ctx.clear_state()
    user = ctx.user
    draft = await ctx.services.outreach.draft(
        ctx.actor,
        html,
        photo=inbound.media_id or None,
        report_to=(user.channel, user.chat_id, user.locale),
    )
    await _audit(ctx, "draft", announcement=draft.id)
    await show_audience(ctx, draft)


async def show_audience(ctx: Context, announcement: Announcement, *, intro: str = "") -> None:
    count = await ctx.services.outreach.audience_size(announcement.audience)
    text = ctx.t(
        "admin.audience",
        id=announcement.id,
        audience=describe(ctx, announcement.audience),
        count=_num(ctx, count),
    )
    a = announcement.id
    rows = [
        [
            ctx.button("admin.buttons.everyone", EditAudience(a, "all")),
            ctx.button("admin.buttons.areas", EditAudience(a, "area")),
            ctx.button("admin.buttons.roles", EditAudience(a, "role")),
        ],
        [
            ctx.button("admin.buttons.language", EditAudience(a, "lang")),
            ctx.button("admin.buttons.not_met", EditAudience(a, "notmet")),
        ],
        [ctx.button("admin.buttons.preview", Preview(a))],
        [ctx.button("admin.buttons.cancel", CancelAnnouncement(a))],
    ]
    ctx.clear_state()
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows, edit=ctx.pressed)


@router.action(EditAudience, role=EDITOR)
async def edit_audience(ctx: Context, act: EditAudience) -> None:
    announcement = await _editable(ctx, act.announcement)
    a = announcement.id
    audience = announcement.audience
    if act.what in ("all", "done"):
        if act.what == "all":
            announcement = await ctx.services.store.announcements.update(
                a, audience=AudienceFilter()
            )
        await show_audience(ctx, announcement)
    elif act.what == "area":
        ctx.set_state(AREA_STATE, announcement=a)
        await _area_picker(ctx, announcement, [])
    elif act.what == "role":
        roles = ctx.services.catalog.campaign.roles
        rows = [
            [
                Button(
                    ("✓ " if r.id in audience.roles else "") + role_label(ctx, r.id),
                    action=ToggleRole(a, r.id).pack(),
                )
            ]
            for r in roles
        ]
        rows.append([ctx.button("admin.buttons.done", EditAudience(a, "done"))])
        ctx.reply(ctx.t("admin.pick_roles"), rows, edit=ctx.pressed)
    elif act.what == "lang":
        names = ctx.services.catalog.campaign.locale_names
        rows = [[Button(name, action=ChooseLocale(a, code).pack()) for code, name in names.items()]]
        rows.append([ctx.button("admin.buttons.any_language", ChooseLocale(a, "-"))])
        ctx.reply(ctx.t("admin.pick_language"), rows, edit=ctx.pressed)
    elif act.what == "notmet":
        titles = ctx.services.catalog.campaign.titles
        rows = [
            [
                Button(
                    ctx.services.i18n.text(ctx.locale, t.name), action=ChooseNotMet(a, t.id).pack()
                )
            ]
            for t in titles
        ]
        rows.append([ctx.button("admin.buttons.no_filter", ChooseNotMet(a, "-"))])
        ctx.reply(ctx.t("admin.pick_not_met"), rows, edit=ctx.pressed)
    else:
        raise StaleButton(f"unknown audience edit {act.what!r}")


async def _area_picker(ctx: Context, announcement: Announcement, found: list) -> None:
    chosen = announcement.audience.areas
    a = announcement.id
    rows = [
        [
            Button(
                ("✓ " if area.code in chosen else "") + area_label(ctx, area.code),
                action=ToggleArea(a, area.code).pack(),
            )
        ]
        for area in found
    ]
    rows += [
        [Button("✓ " + area_label(ctx, code), action=ToggleArea(a, code).pack())]
        for code in chosen
        if code not in {area.code for area in found}
    ]
    rows.append([ctx.button("admin.buttons.done", EditAudience(a, "done"))])
    ctx.reply(ctx.t("admin.pick_areas"), rows, edit=ctx.pressed)


@router.state(AREA_STATE, role=EDITOR)
async def area_typed(ctx: Context, text: str) -> None:
    announcement = await _editable(ctx, int(ctx.session.data.get("announcement", 0)))
    found = ctx.services.catalog.areas.search(text[:64])
    ctx.set_state(AREA_STATE, announcement=announcement.id)
    if not found:
        ctx.reply(
            ctx.t("profile.area_not_found", query=text[:64]),
            [[ctx.button("admin.buttons.done", EditAudience(announcement.id, "done"))]],
        )
        return
    await _area_picker(ctx, announcement, found)


@router.action(ToggleArea, role=EDITOR)
async def toggle_area(ctx: Context, act: ToggleArea) -> None:
    announcement = await _editable(ctx, act.announcement)
    if ctx.services.catalog.areas.get(act.code) is None:
        raise StaleButton(f"unknown area {act.code}")
    areas = list(announcement.audience.areas)
    areas.remove(act.code) if act.code in areas else areas.append(act.code)
    audience = replace(announcement.audience, areas=tuple(areas))
    announcement = await ctx.services.store.announcements.update(
        act.announcement, audience=audience
    )
    ctx.set_state(AREA_STATE, announcement=announcement.id)
    found = [a for a in (ctx.services.catalog.areas.get(c) for c in areas) if a]
    await _area_picker(ctx, announcement, found)


@router.action(ToggleRole, role=EDITOR)
async def toggle_role(ctx: Context, act: ToggleRole) -> None:
    announcement = await _editable(ctx, act.announcement)
    if ctx.services.catalog.campaign.role(act.role) is None:
        raise StaleButton(f"unknown role {act.role}")
    roles = list(announcement.audience.roles)
    roles.remove(act.role) if act.role in roles else roles.append(act.role)
    audience = replace(announcement.audience, roles=tuple(roles))
    await ctx.services.store.announcements.update(act.announcement, audience=audience)
    await edit_audience(ctx, EditAudience(act.announcement, "role"))


@router.action(ChooseLocale, role=EDITOR)
async def choose_locale(ctx: Context, act: ChooseLocale) -> None:
    announcement = await _editable(ctx, act.announcement)
    if act.locale != "-" and act.locale not in ctx.services.catalog.campaign.locales:
        raise StaleButton(f"unknown locale {act.locale}")
    locale = None if act.locale == "-" else act.locale
    audience = replace(announcement.audience, locale=locale)
    announcement = await ctx.services.store.announcements.update(announcement.id, audience=audience)
    await show_audience(ctx, announcement)


@router.action(ChooseNotMet, role=EDITOR)
async def choose_not_met(ctx: Context, act: ChooseNotMet) -> None:
    announcement = await _editable(ctx, act.announcement)
    if act.title != "-" and ctx.services.catalog.campaign.title(act.title) is None:
        raise StaleButton(f"unknown title {act.title}")
    title = None if act.title == "-" else act.title
    audience = replace(announcement.audience, not_met=title)
    announcement = await ctx.services.store.announcements.update(announcement.id, audience=audience)
    await show_audience(ctx, announcement)


# -- preview, send, schedule ------------------------------------------------------------------
@router.action(Preview, role=EDITOR)
async def preview(ctx: Context, act: Preview) -> None:
    announcement = await _editable(ctx, act.announcement)
    count = await ctx.services.outreach.audience_size(announcement.audience)
    # Exactly what recipients will see, then the controls in a message of their own.
    ctx.reply(announcement.text, photo_id=announcement.photo)
    a = announcement.id
    if ctx.is_admin:
        rows = [
            [
                ctx.button("admin.buttons.send_now", SendNow(a)),
                ctx.button("admin.buttons.schedule", AskTime(a)),
            ],
            [
                ctx.button("admin.buttons.edit_audience", EditAudience(a, "done")),
                ctx.button("admin.buttons.cancel", CancelAnnouncement(a)),
            ],
        ]
    else:
        rows = [
            [ctx.button("admin.buttons.save_draft", SaveDraft(a))],
            [
                ctx.button("admin.buttons.edit_audience", EditAudience(a, "done")),
                ctx.button("admin.buttons.cancel", CancelAnnouncement(a)),
            ],
        ]
    ctx.reply(
        ctx.t(
            "admin.preview",
            id=a,
            count=_num(ctx, count),
            audience=describe(ctx, announcement.audience),
        ),
        rows,
    )


def _report_to(ctx: Context) -> dict:
    user = ctx.user
    return {
        "report_channel": user.channel,
        "report_chat": user.chat_id,
        "report_locale": user.locale,
    }


@router.action(SendNow, role=ADMIN)
async def send_now(ctx: Context, act: SendNow) -> None:
    announcement = await _editable(ctx, act.announcement)
    await ctx.services.store.announcements.update(announcement.id, **_report_to(ctx))
    count = await ctx.services.outreach.audience_size(announcement.audience)
    await ctx.services.outreach.schedule(announcement.id, None)
    await _audit(ctx, "send", announcement=announcement.id, recipients=count)
    ctx.reply(
        ctx.t("admin.sending", id=announcement.id, count=_num(ctx, count)),
        [[home_button(ctx)]],
        edit=True,
    )


@router.action(AskTime, role=ADMIN)
async def ask_time(ctx: Context, act: AskTime) -> None:
    announcement = await _editable(ctx, act.announcement)
    ctx.set_state(TIME_STATE, announcement=announcement.id)
    ctx.reply(
        ctx.t("admin.ask_time"),
        [[ctx.button("admin.buttons.cancel", CancelAnnouncement(announcement.id))]],
        edit=ctx.pressed,
    )


@router.state(TIME_STATE, role=ADMIN)
async def time_typed(ctx: Context, text: str) -> None:
    announcement = await _editable(ctx, int(ctx.session.data.get("announcement", 0)))
    now = ctx.services.clock()
    moment = parse_when(text, ctx.services.settings.timezone, now)
    if moment is None:
        ctx.reply(ctx.t("admin.bad_time", text=text[:40]))
        return
    if moment <= now:
        ctx.reply(ctx.t("admin.past_time", when=_when(ctx, moment)))
        return
    # The state stays: typing another time replaces this one until it is confirmed.
    epoch = int(moment.timestamp())
    ctx.reply(
        ctx.t("admin.confirm_time", id=announcement.id, when=_when(ctx, moment)),
        [
            [
                ctx.button("admin.buttons.confirm", ConfirmTime(announcement.id, epoch)),
                ctx.button("admin.buttons.change_time", AskTime(announcement.id)),
            ]
        ],
    )


@router.action(ConfirmTime, role=ADMIN)
async def confirm_time(ctx: Context, act: ConfirmTime) -> None:
    announcement = await _editable(ctx, act.announcement)
    moment = datetime.fromtimestamp(act.at, UTC)
    if moment <= ctx.services.clock():
        ctx.reply(
            ctx.t("admin.past_time", when=_when(ctx, moment)),
            [[ctx.button("admin.buttons.change_time", AskTime(announcement.id))]],
            edit=True,
        )
        return
    ctx.clear_state()
    await ctx.services.store.announcements.update(announcement.id, **_report_to(ctx))
    await ctx.services.outreach.schedule(announcement.id, moment)
    await _audit(ctx, "schedule", announcement=announcement.id, at=moment.isoformat())
    ctx.reply(
        ctx.t("admin.scheduled", id=announcement.id, when=_when(ctx, moment)),
        [[home_button(ctx)]],
        edit=True,
    )


@router.action(SaveDraft, role=EDITOR)
async def save_draft(ctx: Context, act: SaveDraft) -> None:
    announcement = await _editable(ctx, act.announcement)
    await _audit(ctx, "save_draft", announcement=announcement.id)
    ctx.reply(ctx.t("admin.draft_saved", id=announcement.id), [[home_button(ctx)]], edit=True)


@router.action(CancelAnnouncement, role=EDITOR)
async def cancel_announcement(ctx: Context, act: CancelAnnouncement) -> None:
    announcement = await _editable(ctx, act.announcement)
    await ctx.services.outreach.cancel(announcement.id)
    await _audit(ctx, "cancel", announcement=announcement.id)
    ctx.clear_state()
    ctx.reply(ctx.t("admin.cancelled", id=announcement.id), [[home_button(ctx)]], edit=True)


# -- what is waiting, and reports -------------------------------------------------------------
def _snippet(announcement: Announcement) -> str:
    from bot.core.text import plain

    text = " ".join(plain(announcement.text).split())
    return text if len(text) <= 60 else text[:57].rsplit(" ", 1)[0] + "…"


@router.command("scheduled", role=EDITOR)
async def scheduled(ctx: Context) -> None:
    waiting = await ctx.services.store.announcements.listing([DRAFT, SCHEDULED])
    if not waiting:
        ctx.reply(ctx.t("admin.nothing_waiting"), [[home_button(ctx)]])
        return
    lines = [ctx.t("admin.waiting_title")]
    rows = []
    for announcement in waiting:
        when = (
            _when(ctx, announcement.scheduled_at)
            if announcement.scheduled_at
            else ctx.t("admin.status." + announcement.status)
        )
        lines.append(
            ctx.t(
                "admin.waiting_line",
                id=announcement.id,
                when=when,
                audience=describe(ctx, announcement.audience),
                text=_snippet(announcement),
            )
        )
        rows.append(
            [
                ctx.button(
                    "admin.buttons.view", ViewAnnouncement(announcement.id), id=announcement.id
                )
            ]
        )
    rows.append([home_button(ctx)])
    ctx.reply("\n".join(lines), rows)


@router.action(ViewAnnouncement, role=EDITOR)
async def view_announcement(ctx: Context, act: ViewAnnouncement) -> None:
    await preview(ctx, Preview(act.announcement))


@router.command("report", role=ADMIN)
async def report(ctx: Context) -> None:
    arg = ctx.inbound.args.strip().lstrip("#")
    store = ctx.services.store.announcements
    if not arg:
        recent = await store.listing(["sending", "done", SCHEDULED, CANCELLED], limit=100)
        lines = [ctx.t("admin.report_recent")]
        lines += [
            ctx.t(
                "admin.report_line",
                id=a.id,
                status=ctx.t("admin.status." + a.status),
                text=_snippet(a),
            )
            for a in recent[-10:]
        ]
        ctx.reply("\n".join(lines), [[home_button(ctx)]])
        return
    announcement = await store.get(int(arg)) if arg.isdigit() else None
    if announcement is None:
        ctx.reply(ctx.t("admin.no_such_announcement", id=arg[:12]), [[home_button(ctx)]])
        return
    counts = await store.counts(announcement.id)
    text = ctx.services.outreach.report_text(
        announcement,
        counts,
        ctx.locale,
        final=announcement.status == "done",
        outside_window=await store.outside_window(announcement.id),
    )
    details = ctx.t(
        "admin.report_details",
        status=ctx.t("admin.status." + announcement.status),
        audience=describe(ctx, announcement.audience),
        created=_when(ctx, announcement.created_at),
    )
    ctx.reply(f"{text}\n\n{details}", [[home_button(ctx)]])


# -- staff roles ------------------------------------------------------------------------------
@router.command("admins", role=SUPER)
async def admins(ctx: Context) -> None:
    words = ctx.inbound.args.split()
    if len(words) >= 2 and words[0] in ("grant", "revoke", "cap", "thuhoi"):
        await _typed_role_change(ctx, words)
        return
    await show_staff(ctx)


async def show_staff(ctx: Context, *, intro: str = "") -> None:
    members = await ctx.services.store.staff.members()
    lines = [ctx.t("admin.staff_title")]
    rows = []
    for row in members:
        lines.append(
            ctx.t(
                "admin.staff_line",
                name=row.display_name or row.external_id,
                id=row.external_id,
                role=ctx.t("admin.role." + row.role),
            )
        )
        rows.append(
            [
                ctx.button(
                    "admin.buttons.revoke",
                    Revoke(row.user_id),
                    name=row.display_name or row.external_id,
                )
            ]
        )
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
    target = await ctx.services.store.users.find(ctx.user.channel, text.strip())
    if target is None:
        ctx.reply(ctx.t("admin.unknown_member", id=text.strip()[:20]))
        return
    ctx.clear_state()
    ctx.reply(
        ctx.t("admin.grant_which", name=target.display_name or target.external_id),
        [
            [
                ctx.button("admin.role.admin", Grant(target.id, ADMIN)),
                ctx.button("admin.role.editor", Grant(target.id, EDITOR)),
            ],
            [home_button(ctx)],
        ],
    )


async def _typed_role_change(ctx: Context, words: list[str]) -> None:
    target = await ctx.services.store.users.find(ctx.user.channel, words[1])
    if target is None:
        ctx.reply(ctx.t("admin.unknown_member", id=words[1][:20]))
        return
    if words[0] in ("revoke", "thuhoi"):
        await revoke(ctx, Revoke(target.id))
    elif len(words) >= 3 and words[2] in (ADMIN, EDITOR):
        await grant(ctx, Grant(target.id, words[2]))
    else:
        await show_staff(ctx)


@router.action(Grant, role=SUPER)
async def grant(ctx: Context, act: Grant) -> None:
    target = await ctx.services.store.users.get(act.user)
    if target is None or act.role not in (ADMIN, EDITOR):
        raise StaleButton(f"cannot grant {act.role} to {act.user}")
    await ctx.services.store.staff.grant(target.id, act.role, ctx.actor)
    await _audit(ctx, "grant", user=f"{target.channel}:{target.external_id}", role=act.role)
    await ctx.services.staff.changed.send(target, act.role)
    await show_staff(
        ctx,
        intro=ctx.t(
            "admin.granted",
            name=target.display_name or target.external_id,
            role=ctx.t("admin.role." + act.role),
        ),
    )


@router.action(Revoke, role=SUPER)
async def revoke(ctx: Context, act: Revoke) -> None:
    target = await ctx.services.store.users.get(act.user)
    if target is None or not await ctx.services.store.staff.revoke(target.id):
        raise StaleButton(f"{act.user} has no staff role")
    await _audit(ctx, "revoke", user=f"{target.channel}:{target.external_id}")
    await ctx.services.staff.changed.send(target, None)
    await show_staff(
        ctx, intro=ctx.t("admin.revoked", name=target.display_name or target.external_id)
    )
