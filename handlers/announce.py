"""Announcements from staff in chat: composing (/announce), choosing the audience, previewing,
sending now or at a time, what is waiting (/scheduled) and delivery reports (/report).

City editors draft; admins send. A branch's staff (editors and admins of some wards/communes)
write only to members of their areas: the audience is cut to their scope and the preview says so;
they send small broadcasts themselves, and one to more than APPROVAL_THRESHOLD members waits for
a city admin's approval (/approvals: "Duyệt" or "Trả lại" with a reason). Every command, button
and conversation state here carries its least role, and the dispatcher refuses (and audits)
anything below it; what is outside a scope is refused the same way (`OutOfScope`), so a forged
button is as powerless as a typed command. The announcement rows are the outreach service's:
this module asks it to read and change them, and turns "no longer waiting" into a stale button.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.catalog.i18n import Markup, escape
from bot.core.actions import action
from bot.core.context import Context, OutOfScope, StaleButton
from bot.core.messages import Button
from bot.core.roles import ADMIN, EDITOR
from bot.core.router import Router
from bot.core.text import plain
from bot.records import (
    DRAFT,
    RETURNED,
    SCHEDULED,
    WAITING_APPROVAL,
    Announcement,
    AudienceFilter,
)
from bot.services.outreach import parse_when
from handlers.menu import home_button
from handlers.profile import area_label, role_label

router = Router("announce")

# State names are kept in members' sessions: they keep their old "admin." prefix across the split.
COMPOSE_STATE = "admin.compose"
AREA_STATE = "admin.area"
TIME_STATE = "admin.time"
RETURN_STATE = "branches.return"


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


@action("ya")
@dataclass(frozen=True)
class Approve:
    announcement: int


@action("yr")
@dataclass(frozen=True)
class SendBack:
    announcement: int


@action("yv")
@dataclass(frozen=True)
class Review:
    announcement: int


# -- helpers ----------------------------------------------------------------------------------
def _num(ctx: Context, value: float) -> str:
    return ctx.services.i18n.number(ctx.locale, value)


def _when(ctx: Context, moment: datetime) -> Markup:
    local = moment.astimezone(ctx.services.settings.timezone)
    i18n = ctx.services.i18n
    return ctx.t("admin.when", date=i18n.date(ctx.locale, local), time=i18n.time(local))


async def _visible(ctx: Context, announcement_id: int) -> Announcement:
    """An announcement within the staff member's scope (a branch's: to its own areas only)."""
    announcement = await ctx.services.outreach.get(announcement_id)
    if announcement is None:
        raise StaleButton(f"no announcement {announcement_id}")
    if not ctx.scope.covers_audience(announcement.audience.areas):
        raise OutOfScope(f"announcement {announcement_id} reaches beyond the scope")
    return announcement


async def _editable(ctx: Context, announcement_id: int) -> Announcement:
    """A draft, or (for those who send) a still-waiting announcement, within the scope; one
    waiting for approval changes no more (it is approved, returned or cancelled); anything else
    is stale."""
    announcement = await _visible(ctx, announcement_id)
    if announcement.approval == WAITING_APPROVAL:  # decided with "Duyệt" / "Trả lại" only
        raise StaleButton(f"announcement {announcement_id} waits for approval")
    if announcement.status == DRAFT or (announcement.status == SCHEDULED and ctx.scope.may_send()):
        return announcement
    raise StaleButton(f"announcement {announcement_id} is {announcement.status}")


async def _may_send(ctx: Context) -> None:
    """Only those who send reach the sending buttons; a city editor's forged press is refused
    (and audited) like any button below its role."""
    if not ctx.scope.may_send():
        await ctx.services.staff.refused(ctx.actor, ctx.inbound.text)
        raise StaleButton(f"{ctx.staff_role} of {ctx.scope.codes or 'the city'} does not send")


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


async def _set_audience(
    ctx: Context, announcement_id: int, audience: AudienceFilter
) -> Announcement:
    # A branch writes to its own areas: none chosen means all of them, never the whole city.
    audience = replace(audience, areas=ctx.scope.cut(audience.areas))
    changed = await ctx.services.outreach.set_audience(announcement_id, audience)
    if changed is None:  # sent or cancelled between showing the button and pressing it
        raise StaleButton(f"announcement {announcement_id} is no longer waiting")
    return changed


async def _audit(ctx: Context, what: str, **detail: object) -> None:
    await ctx.services.staff.audit(ctx.actor, what, **detail)


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
    draft = await ctx.services.outreach.draft(
        ctx.actor, html, photo=inbound.media_id or None, report_to=_report_to(ctx)
    )
    if ctx.scope.branch:
        draft = await _set_audience(ctx, draft.id, draft.audience)
    await _audit(ctx, "draft", announcement=draft.id)
    await show_audience(ctx, draft)


async def show_audience(ctx: Context, announcement: Announcement, *, intro: str = "") -> None:
    count = await ctx.services.outreach.audience_size(announcement.audience)
    text = ctx.t(
        "admin.audience",
        id=announcement.id,
        audience=describe(ctx, announcement.audience),
        count=_num(ctx, count),
    ) + _in_scope(ctx, count)
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
            announcement = await _set_audience(ctx, a, AudienceFilter())
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


def _in_scope(ctx: Context, count: int) -> str:
    """For a branch: "\nTrong phạm vi: phường Ninh Kiều, 1.204 người"."""
    if not ctx.scope.branch:
        return ""
    areas = ", ".join(area_label(ctx, code) for code in ctx.scope.codes)
    return "\n" + str(ctx.t("branches.in_scope", areas=areas, count=_num(ctx, count)))


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
    found = [area for area in found if ctx.scope.covers(area.code)]
    ctx.set_state(AREA_STATE, announcement=announcement.id)
    if not found:
        ctx.reply(
            ctx.t("profile.area_not_found", query=text[:64]),
            [[ctx.button("admin.buttons.done", EditAudience(announcement.id, "done"))]],
        )
        return
    await _area_picker(ctx, announcement, found)


def _toggled(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    """`items` with `item` taken out if it was in, added if not (a pressed checkbox)."""
    return tuple(i for i in items if i != item) if item in items else (*items, item)


@router.action(ToggleArea, role=EDITOR)
async def toggle_area(ctx: Context, act: ToggleArea) -> None:
    announcement = await _editable(ctx, act.announcement)
    if ctx.services.catalog.areas.get(act.code) is None:
        raise StaleButton(f"unknown area {act.code}")
    if not ctx.scope.covers(act.code):
        raise OutOfScope(f"area {act.code}")
    areas = _toggled(announcement.audience.areas, act.code)
    audience = replace(announcement.audience, areas=areas)
    announcement = await _set_audience(ctx, act.announcement, audience)
    ctx.set_state(AREA_STATE, announcement=announcement.id)
    found = [a for a in (ctx.services.catalog.areas.get(c) for c in areas) if a]
    await _area_picker(ctx, announcement, found)


@router.action(ToggleRole, role=EDITOR)
async def toggle_role(ctx: Context, act: ToggleRole) -> None:
    announcement = await _editable(ctx, act.announcement)
    if ctx.services.catalog.campaign.role(act.role) is None:
        raise StaleButton(f"unknown role {act.role}")
    audience = replace(announcement.audience, roles=_toggled(announcement.audience.roles, act.role))
    await _set_audience(ctx, act.announcement, audience)
    await edit_audience(ctx, EditAudience(act.announcement, "role"))


@router.action(ChooseLocale, role=EDITOR)
async def choose_locale(ctx: Context, act: ChooseLocale) -> None:
    announcement = await _editable(ctx, act.announcement)
    if act.locale != "-" and act.locale not in ctx.services.catalog.campaign.locales:
        raise StaleButton(f"unknown locale {act.locale}")
    locale = None if act.locale == "-" else act.locale
    audience = replace(announcement.audience, locale=locale)
    announcement = await _set_audience(ctx, announcement.id, audience)
    await show_audience(ctx, announcement)


@router.action(ChooseNotMet, role=EDITOR)
async def choose_not_met(ctx: Context, act: ChooseNotMet) -> None:
    announcement = await _editable(ctx, act.announcement)
    if act.title != "-" and ctx.services.catalog.campaign.title(act.title) is None:
        raise StaleButton(f"unknown title {act.title}")
    title = None if act.title == "-" else act.title
    audience = replace(announcement.audience, not_met=title)
    announcement = await _set_audience(ctx, announcement.id, audience)
    await show_audience(ctx, announcement)


# -- preview, send, schedule ------------------------------------------------------------------
@router.action(Preview, role=EDITOR)
async def preview(ctx: Context, act: Preview) -> None:
    # Its author still sees one waiting for approval (and may cancel it), not change it.
    announcement = await _visible(ctx, act.announcement)
    if announcement.approval != WAITING_APPROVAL:
        announcement = await _editable(ctx, act.announcement)
    elif announcement.status != DRAFT:
        raise StaleButton(f"announcement {announcement.id} is {announcement.status}")
    count = await ctx.services.outreach.audience_size(announcement.audience)
    # Exactly what recipients will see, then the controls in a message of their own.
    ctx.reply(announcement.text, photo_id=announcement.photo)
    a = announcement.id
    if announcement.approval == WAITING_APPROVAL:
        rows = [[ctx.button("admin.buttons.cancel", CancelAnnouncement(a))]]
        if ctx.scope.may_approve():
            rows.insert(
                0,
                [
                    ctx.button("branches.buttons.approve", Approve(a)),
                    ctx.button("branches.buttons.send_back", SendBack(a)),
                ],
            )
    elif ctx.scope.may_send():
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
    text = ctx.t(
        "admin.preview", id=a, count=_num(ctx, count), audience=describe(ctx, announcement.audience)
    )
    ctx.reply(text + _in_scope(ctx, count) + _approval_state(ctx, announcement), rows)


def _approval_state(ctx: Context, announcement: Announcement) -> str:
    """What became of a branch broadcast's approval, for its author."""
    if announcement.approval == WAITING_APPROVAL:
        return "\n" + str(ctx.t("branches.state_waiting"))
    if announcement.approval == RETURNED and announcement.status == DRAFT:
        note = announcement.approval_note or ""
        return "\n" + str(ctx.t("branches.state_returned", reason=note))
    return ""


def _report_to(ctx: Context) -> tuple[str, str, str]:
    """Where progress and the final report go: this staff member's chat (on sending, whoever
    sends, not who drafted)."""
    user = ctx.user
    return (user.channel, user.chat_id, user.locale)


async def _schedule(ctx: Context, announcement_id: int, at: datetime | None) -> None:
    outreach = ctx.services.outreach
    if await outreach.schedule(announcement_id, at, report_to=_report_to(ctx)) is None:
        raise StaleButton(f"announcement {announcement_id} is no longer waiting")


async def _held_for_approval(
    ctx: Context, announcement: Announcement, count: int, at: datetime | None
) -> bool:
    """A branch broadcast over the threshold waits for a city admin, who is told; True then."""
    if not ctx.scope.needs_approval(count, ctx.services.settings.approval_threshold):
        return False
    outreach = ctx.services.outreach
    if await outreach.ask_approval(announcement.id, at, _report_to(ctx)) is None:
        raise StaleButton(f"announcement {announcement.id} is no longer a draft")
    await _audit(ctx, "approval_asked", announcement=announcement.id, recipients=count)
    author = ctx.user.display_name or ctx.user.external_id
    areas = ", ".join(area_label(ctx, code) for code in ctx.scope.codes)
    for admin in await ctx.services.staff.approvers():
        message = ctx.services.i18n.t(
            admin.locale,
            "branches.approval_request",
            id=announcement.id,
            author=author,
            areas=areas,
            count=ctx.services.i18n.number(admin.locale, count),
            text=_snippet(announcement),
        )
        await outreach.announce("approval", message, AudienceFilter(user_ids=(admin.id,)))
    ctx.clear_state()
    ctx.reply(
        ctx.t("branches.waiting_for_approval", id=announcement.id, count=_num(ctx, count)),
        [[home_button(ctx)]],
        edit=ctx.pressed,
    )
    return True


@router.action(SendNow, role=EDITOR)
async def send_now(ctx: Context, act: SendNow) -> None:
    await _may_send(ctx)
    announcement = await _editable(ctx, act.announcement)
    count = await ctx.services.outreach.audience_size(announcement.audience)
    if await _held_for_approval(ctx, announcement, count, None):
        return
    await _schedule(ctx, announcement.id, None)
    await _audit(ctx, "send", announcement=announcement.id, recipients=count)
    ctx.reply(
        ctx.t("admin.sending", id=announcement.id, count=_num(ctx, count)),
        [[home_button(ctx)]],
        edit=True,
    )


@router.action(AskTime, role=EDITOR)
async def ask_time(ctx: Context, act: AskTime) -> None:
    await _may_send(ctx)
    announcement = await _editable(ctx, act.announcement)
    ctx.set_state(TIME_STATE, announcement=announcement.id)
    ctx.reply(
        ctx.t("admin.ask_time"),
        [[ctx.button("admin.buttons.cancel", CancelAnnouncement(announcement.id))]],
        edit=ctx.pressed,
    )


@router.state(TIME_STATE, role=EDITOR)
async def time_typed(ctx: Context, text: str) -> None:
    await _may_send(ctx)
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


@router.action(ConfirmTime, role=EDITOR)
async def confirm_time(ctx: Context, act: ConfirmTime) -> None:
    await _may_send(ctx)
    announcement = await _editable(ctx, act.announcement)
    moment = datetime.fromtimestamp(act.at, UTC)
    if moment <= ctx.services.clock():
        ctx.reply(
            ctx.t("admin.past_time", when=_when(ctx, moment)),
            [[ctx.button("admin.buttons.change_time", AskTime(announcement.id))]],
            edit=True,
        )
        return
    count = await ctx.services.outreach.audience_size(announcement.audience)
    if await _held_for_approval(ctx, announcement, count, moment):
        return
    await _schedule(ctx, announcement.id, moment)
    ctx.clear_state()
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
    announcement = await _visible(ctx, act.announcement)
    if announcement.status not in (DRAFT, SCHEDULED) or (
        announcement.status == SCHEDULED and not ctx.scope.may_send()
    ):
        raise StaleButton(f"announcement {announcement.id} is {announcement.status}")
    await ctx.services.outreach.cancel(announcement.id)
    await _audit(ctx, "cancel", announcement=announcement.id)
    ctx.clear_state()
    ctx.reply(ctx.t("admin.cancelled", id=announcement.id), [[home_button(ctx)]], edit=True)


# -- what is waiting, and reports -------------------------------------------------------------
def _snippet(announcement: Announcement) -> str:
    text = " ".join(plain(announcement.text).split())
    return text if len(text) <= 60 else text[:57].rsplit(" ", 1)[0] + "…"


@router.command("scheduled", role=EDITOR)
async def scheduled(ctx: Context) -> None:
    waiting = [
        a
        for a in await ctx.services.outreach.waiting()
        if ctx.scope.covers_audience(a.audience.areas)
    ]
    if not waiting:
        ctx.reply(ctx.t("admin.nothing_waiting"), [[home_button(ctx)]])
        return
    lines = [ctx.t("admin.waiting_title")]
    rows = []
    for announcement in waiting:
        when = (
            _when(ctx, announcement.scheduled_at)
            if announcement.scheduled_at
            else ctx.t("branches.status_waiting")
            if announcement.approval == WAITING_APPROVAL
            else ctx.t("branches.status_returned")
            if announcement.approval == RETURNED
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
    outreach = ctx.services.outreach
    if not arg:
        lines = [ctx.t("admin.report_recent")]
        lines += [
            ctx.t(
                "admin.report_line",
                id=a.id,
                status=ctx.t("admin.status." + a.status),
                text=_snippet(a),
            )
            for a in await outreach.recent(10)
            if ctx.scope.covers_audience(a.audience.areas)
        ]
        ctx.reply("\n".join(lines), [[home_button(ctx)]])
        return
    announcement = await outreach.get(int(arg)) if arg.isdigit() else None
    if announcement is None:
        ctx.reply(ctx.t("admin.no_such_announcement", id=arg[:12]), [[home_button(ctx)]])
        return
    announcement = await _visible(ctx, announcement.id)
    text = await outreach.status_report(announcement, ctx.locale)
    details = ctx.t(
        "admin.report_details",
        status=ctx.t("admin.status." + announcement.status),
        audience=describe(ctx, announcement.audience),
        created=_when(ctx, announcement.created_at),
    )
    ctx.reply(f"{text}\n\n{details}", [[home_button(ctx)]])


# -- approval of branch broadcasts (city admins) ----------------------------------------------
def _approver(ctx: Context) -> None:
    if not ctx.scope.may_approve():
        raise OutOfScope("only city admins approve a branch's broadcast")


@router.command("approvals", role=ADMIN)
async def approvals(ctx: Context) -> None:
    _approver(ctx)
    waiting = await ctx.services.outreach.awaiting_approval()
    if not waiting:
        ctx.reply(ctx.t("branches.none_waiting"), [[home_button(ctx)]])
        return
    lines = [ctx.t("branches.approvals_title")]
    rows = []
    for announcement in waiting:
        count = await ctx.services.outreach.audience_size(announcement.audience)
        lines.append(
            ctx.t(
                "branches.approvals_line",
                id=announcement.id,
                audience=describe(ctx, announcement.audience),
                count=_num(ctx, count),
                text=_snippet(announcement),
            )
        )
        rows.append([ctx.button("admin.buttons.view", Review(announcement.id), id=announcement.id)])
    rows.append([home_button(ctx)])
    ctx.reply("\n".join(str(line) for line in lines), rows)


async def _waiting(ctx: Context, announcement_id: int) -> Announcement:
    _approver(ctx)
    announcement = await ctx.services.outreach.get(announcement_id)
    if announcement is None or announcement.approval != WAITING_APPROVAL:
        raise StaleButton(f"announcement {announcement_id} does not wait for approval")
    return announcement


@router.action(Review, role=ADMIN)
async def review(ctx: Context, act: Review) -> None:
    """The admin sees exactly what would go out, to whom, then decides."""
    announcement = await _waiting(ctx, act.announcement)
    count = await ctx.services.outreach.audience_size(announcement.audience)
    ctx.reply(announcement.text, photo_id=announcement.photo)
    when = _when(ctx, announcement.wanted_at) if announcement.wanted_at else ctx.t("branches.asap")
    ctx.reply(
        ctx.t(
            "branches.review",
            id=announcement.id,
            count=_num(ctx, count),
            audience=describe(ctx, announcement.audience),
            when=when,
        ),
        [
            [
                ctx.button("branches.buttons.approve", Approve(announcement.id)),
                ctx.button("branches.buttons.send_back", SendBack(announcement.id)),
            ],
            [home_button(ctx)],
        ],
    )


async def _tell_author(ctx: Context, announcement: Announcement, key: str, **params: str) -> None:
    channel, _, external_id = announcement.created_by.partition(":")
    author = await ctx.services.staff.find(channel, external_id)
    if author is None:  # the CLI, or an author who deleted their data
        return
    message = ctx.services.i18n.t(author.locale, key, id=announcement.id, **params)
    await ctx.services.outreach.announce("approval", message, AudienceFilter(user_ids=(author.id,)))


@router.action(Approve, role=ADMIN)
async def approve(ctx: Context, act: Approve) -> None:
    announcement = await _waiting(ctx, act.announcement)
    approved = await ctx.services.outreach.approve(announcement.id, ctx.actor)
    if approved is None:  # another admin decided first, or it was cancelled: nothing twice
        raise StaleButton(f"announcement {announcement.id} was decided meanwhile")
    await _audit(ctx, "approve", announcement=announcement.id)
    await _tell_author(ctx, announcement, "branches.approved_to_author")
    ctx.reply(ctx.t("branches.approved", id=announcement.id), [[home_button(ctx)]], edit=True)


@router.action(SendBack, role=ADMIN)
async def send_back(ctx: Context, act: SendBack) -> None:
    announcement = await _waiting(ctx, act.announcement)
    ctx.set_state(RETURN_STATE, announcement=announcement.id)
    ctx.reply(ctx.t("branches.ask_reason", id=announcement.id), [[home_button(ctx)]], edit=True)


@router.state(RETURN_STATE, role=ADMIN)
async def reason_typed(ctx: Context, text: str) -> None:
    announcement = await _waiting(ctx, int(ctx.session.data.get("announcement", 0)))
    reason = " ".join(text.split())[:500]
    if not reason:
        ctx.reply(ctx.t("branches.ask_reason", id=announcement.id))
        return
    if await ctx.services.outreach.send_back(announcement.id, ctx.actor, reason) is None:
        raise StaleButton(f"announcement {announcement.id} was decided meanwhile")
    ctx.clear_state()
    await _audit(ctx, "return", announcement=announcement.id)
    await _tell_author(ctx, announcement, "branches.returned_to_author", reason=reason)
    ctx.reply(ctx.t("branches.returned", id=announcement.id), [[home_button(ctx)]])
