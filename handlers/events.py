"""The campaign calendar in chat: what is coming in the next 60 days, an event's details,
"remind me", "I'll attend", following every event or a weekly learning tip, and (for city admins,
and a branch's editors and admins for their own areas) adding and cancelling one-off events.
Members see the city's events and those of their own area."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.catalog.events import Event, Occurrence
from bot.catalog.i18n import Markup
from bot.core.actions import action
from bot.core.context import Context, OutOfScope, StaleButton
from bot.core.messages import Button
from bot.core.roles import EDITOR
from bot.core.router import Router
from bot.services.outreach import parse_when
from bot.services.reminders import ALL_EVENTS, WEEKLY_TIP, event_topic
from handlers.consent import needs_consent
from handlers.menu import home_button

router = Router("events")

LIST_DAYS = 60
TITLE_STATE, WHEN_STATE, PLACE_STATE = "events.title", "events.when", "events.place"


@action("ev")
@dataclass(frozen=True)
class ShowEvent:
    event_id: str
    occurrence: str  # the occurrence's start date, ISO


@action("evl")
@dataclass(frozen=True)
class ListEvents:
    pass


@action("evf")
@dataclass(frozen=True)
class FollowEvent:
    event_id: str
    occurrence: str


@action("evr")
@dataclass(frozen=True)
class Attend:
    event_id: str
    occurrence: str


@action("evt")
@dataclass(frozen=True)
class FollowTopic:
    topic: str  # "all" | "tip"


@action("evn")
@dataclass(frozen=True)
class NewEvent:
    pass


@action("evp")
@dataclass(frozen=True)
class SkipPlace:
    pass


@action("evx")
@dataclass(frozen=True)
class CancelEvent:
    event_id: str


TOPICS = {"all": ALL_EVENTS, "tip": WEEKLY_TIP}


def _line(ctx: Context, occurrence: Occurrence) -> str:
    reminders = ctx.services.reminders
    title = ctx.services.i18n.text(ctx.locale, occurrence.event.title)
    return f"{reminders.when(occurrence, ctx.locale)} — {title}"


@router.section("events", "menu.events", order=30)
async def events_section(ctx: Context) -> None:
    await list_events(ctx)


@router.action(ListEvents)
async def list_pressed(ctx: Context, _: ListEvents) -> None:
    await list_events(ctx)


def _sees(ctx: Context, event: Event) -> bool:
    return ctx.scope.sees_event(event.areas, ctx.user.area_code)


async def list_events(ctx: Context, *, intro: str = "") -> None:
    user = ctx.user
    upcoming = [
        o
        for o in ctx.services.reminders.upcoming_for(
            user.role, user.area_code, ctx.is_staff, LIST_DAYS
        )
        if _sees(ctx, o.event)
    ]
    lines = [ctx.t("events.list_title", days=LIST_DAYS)]
    lines += [_line(ctx, o) for o in upcoming] or [ctx.t("events.none")]
    rows = [
        [
            Button(
                ctx.services.i18n.text(ctx.locale, o.event.title)[:60],
                action=ShowEvent(o.event.id, o.key).pack(),
            )
        ]
        for o in upcoming[:8]
    ]
    topics = await ctx.services.calendar.topics_of(ctx.user.id)
    rows.append(
        [
            ctx.button(
                "events.buttons.unfollow_all"
                if ALL_EVENTS in topics
                else "events.buttons.follow_all",
                FollowTopic("all"),
            ),
            ctx.button(
                "events.buttons.tips_off" if WEEKLY_TIP in topics else "events.buttons.tips_on",
                FollowTopic("tip"),
            ),
        ]
    )
    if ctx.scope.may_add_event():
        rows.append([ctx.button("events.buttons.new", NewEvent())])
    rows.append([home_button(ctx)])
    text = "\n".join(lines)
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows, edit=ctx.pressed)


@router.action(ShowEvent)
async def show_event(ctx: Context, act: ShowEvent, *, intro: str = "") -> None:
    occurrence = _occurrence_for(ctx, act.event_id, act.occurrence)
    event, i18n = occurrence.event, ctx.services.i18n
    lines = [
        f"<b>{i18n.text(ctx.locale, event.title)}</b>",
        ctx.services.reminders.when(occurrence, ctx.locale),
    ]
    if event.place:
        lines.append(ctx.t("events.place", place=i18n.text(ctx.locale, event.place)))
    if event.description:
        lines += ["", i18n.text(ctx.locale, event.description)]
    theme = event.theme(occurrence.start.year)
    if theme:
        lines += ["", ctx.t("events.theme", theme=i18n.text(ctx.locale, theme))]
    calendar = ctx.services.calendar
    if ctx.is_admin:
        interest = await calendar.interest(event.id, occurrence.key)
        lines += [
            "",
            ctx.t(
                "events.counts",
                attending=i18n.number(ctx.locale, interest.attending),
                followers=i18n.number(ctx.locale, interest.followers),
            ),
        ]
    topics = await calendar.topics_of(ctx.user.id)
    attends = await calendar.attends(ctx.user.id, event.id, occurrence.key)
    following = event_topic(event.id) in topics
    actions = [
        ctx.button(
            "events.buttons.unremind" if following else "events.buttons.remind",
            FollowEvent(event.id, occurrence.key),
        )
    ]
    if event.attend:  # "Tôi sẽ tham gia" only where there is something to take part in
        actions.append(
            ctx.button(
                "events.buttons.unattend" if attends else "events.buttons.attend",
                Attend(event.id, occurrence.key),
            )
        )
    rows = [actions]
    if event.link:
        rows.append([Button(ctx.t("events.buttons.link"), url=event.link)])
    if event.custom and ctx.scope.may_change_event(event.areas):
        rows.append([ctx.button("events.buttons.cancel", CancelEvent(event.id))])
    rows.append([ctx.button("buttons.back", ListEvents()), home_button(ctx)])
    text = Markup("\n".join(lines))
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows, edit=ctx.pressed)


def _occurrence_for(ctx: Context, event_id: str, key: str) -> Occurrence:
    """The occurrence, when its event is meant for this person; else the button is stale."""
    occurrence = ctx.services.reminders.occurrence(event_id, key)
    user = ctx.user
    if (
        occurrence is None
        or not occurrence.event.shown_to(user.role, user.area_code, ctx.is_staff)
        or not _sees(ctx, occurrence.event)
    ):
        raise StaleButton(f"no occurrence {event_id} {key} for this member")
    return occurrence


async def _consented(ctx: Context) -> bool:
    """Following and attending are personal data: they need the privacy consent first."""
    return not await needs_consent(ctx)


@router.action(FollowEvent)
async def follow_event(ctx: Context, act: FollowEvent) -> None:
    _occurrence_for(ctx, act.event_id, act.occurrence)
    if not await _consented(ctx):
        return
    on = await ctx.services.calendar.toggle_follow(ctx.user.id, event_topic(act.event_id))
    await show_event(
        ctx,
        ShowEvent(act.event_id, act.occurrence),
        intro=ctx.t("events.reminding" if on else "events.not_reminding"),
    )


@router.action(Attend)
async def attend(ctx: Context, act: Attend) -> None:
    if not _occurrence_for(ctx, act.event_id, act.occurrence).event.attend:
        raise StaleButton(f"event {act.event_id} is not one to attend")
    if not await _consented(ctx):
        return
    on = await ctx.services.calendar.toggle_attend(ctx.user.id, act.event_id, act.occurrence)
    await show_event(
        ctx,
        ShowEvent(act.event_id, act.occurrence),
        intro=ctx.t("events.attending" if on else "events.not_attending"),
    )


@router.action(FollowTopic)
async def follow_topic(ctx: Context, act: FollowTopic) -> None:
    topic = TOPICS.get(act.topic)
    if topic is None:
        raise StaleButton(f"unknown topic {act.topic!r}")
    if not await _consented(ctx):
        return
    on = await ctx.services.calendar.toggle_follow(ctx.user.id, topic)
    await list_events(ctx, intro=ctx.t(f"events.{act.topic}_{'on' if on else 'off'}"))


# -- admins and branches: one-off events --------------------------------------------------------
async def _may_add(ctx: Context) -> None:
    """City editors do not add events (city admins and a branch's editors do): refused and
    audited like any button below its role."""
    if not ctx.scope.may_add_event():
        await ctx.services.staff.refused(ctx.actor, ctx.inbound.text or ctx.session.state)
        ctx.clear_state()
        raise StaleButton(f"{ctx.staff_role} of the city does not add events")


@router.action(NewEvent, role=EDITOR)
async def new_event(ctx: Context, _: NewEvent) -> None:
    await _may_add(ctx)
    ctx.set_state(TITLE_STATE)
    ctx.reply(ctx.t("events.ask_title"), [[ctx.button("buttons.back", ListEvents())]])


@router.state(TITLE_STATE, role=EDITOR)
async def title_typed(ctx: Context, text: str) -> None:
    await _may_add(ctx)
    title = " ".join(text.split())[:120]
    if not title:
        ctx.reply(ctx.t("events.ask_title"))
        return
    ctx.set_state(WHEN_STATE, title=title)
    ctx.reply(ctx.t("events.ask_when", title=title))


@router.state(WHEN_STATE, role=EDITOR)
async def when_typed(ctx: Context, text: str) -> None:
    await _may_add(ctx)
    now = ctx.services.clock()
    tz = ctx.services.settings.timezone
    moment = parse_when(text, tz, now)
    day = _parse_day(text) if moment is None else None
    if moment is None and day is None:
        ctx.reply(ctx.t("admin.bad_time", text=text[:40]))
        return
    if (moment is not None and moment <= now) or (
        day is not None and day < now.astimezone(tz).date()
    ):
        ctx.reply(ctx.t("admin.past_time", when=text[:40]))
        return
    start = f"{moment:%Y-%m-%d %H:%M}" if moment is not None else day.isoformat()  # type: ignore[union-attr]
    ctx.set_state(PLACE_STATE, title=ctx.session.data.get("title", ""), start=start)
    ctx.reply(ctx.t("events.ask_place"), [[ctx.button("buttons.skip", SkipPlace())]])


def _parse_day(text: str) -> date | None:
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    return None


@router.state(PLACE_STATE, role=EDITOR)
async def place_typed(ctx: Context, text: str) -> None:
    await _may_add(ctx)
    await _create(ctx, " ".join(text.split())[:200])


@router.action(SkipPlace, role=EDITOR)
async def skip_place(ctx: Context, _: SkipPlace) -> None:
    await _may_add(ctx)
    if ctx.session.state != PLACE_STATE:
        raise StaleButton("not adding an event")
    await _create(ctx, "")


async def _create(ctx: Context, place: str) -> None:
    data = ctx.session.data
    if not data.get("title") or not data.get("start"):
        raise StaleButton("event draft lost")
    # A branch's event is its own areas' (the city's has none: everyone's).
    areas = ctx.scope.cut(())
    event_id = await ctx.services.calendar.add_event(
        data["title"], data["start"], ctx.actor, place=place, areas=areas
    )
    await ctx.services.staff.audit(ctx.actor, "event_add", event=event_id, start=data["start"])
    ctx.clear_state()
    await show_event(ctx, ShowEvent(event_id, data["start"][:10]), intro=ctx.t("events.added"))


@router.action(CancelEvent, role=EDITOR)
async def cancel_event(ctx: Context, act: CancelEvent) -> None:
    await _may_add(ctx)
    event = ctx.services.reminders.event(act.event_id)
    if event is None or not event.custom:
        raise StaleButton(f"no custom event {act.event_id}")
    if not ctx.scope.may_change_event(event.areas):
        raise OutOfScope(f"event {event.id} of areas {event.areas}")
    await ctx.services.calendar.cancel_event(event.id)
    await ctx.services.staff.audit(ctx.actor, "event_cancel", event=event.id)
    await list_events(
        ctx, intro=ctx.t("events.cancelled", title=ctx.services.i18n.text(ctx.locale, event.title))
    )
