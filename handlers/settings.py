"""The member's control over the bot and their data: settings, /stop, /mydata and /forget.

Changing the language, role or area runs the profile steps in their settings flow; they come
back here through the "settings" section.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.router import Router
from bot.records import ACTIVE, STOPPED
from handlers.consent import needs_consent
from handlers.link import channel_label, linked_line
from handlers.menu import home_button, show_menu
from handlers.profile import SETTINGS, area_label, ask_area, ask_language, ask_role, role_label

router = Router("settings")


@action("set")
@dataclass(frozen=True)
class ShowSettings:
    """Back to the settings view (the profile steps now lead back through the section's address;
    buttons already sent in chats still carry this)."""


@action("setx")
@dataclass(frozen=True)
class ChangeSetting:
    what: str  # lang | role | area | on | off


@action("forget")
@dataclass(frozen=True)
class Forget:
    step: str  # ask | yes | no


def _local(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return ctx.t("settings.none")
    local = moment.astimezone(ctx.services.settings.timezone)
    return f"{ctx.services.i18n.date(ctx.locale, local)} {ctx.services.i18n.time(local)}"


async def show_settings(ctx: Context, *, intro: str = "") -> None:
    user = ctx.user
    none = ctx.t("settings.none")
    on = user.receives_announcements
    text = ctx.t(
        "settings.view",
        language=ctx.services.catalog.campaign.locale_names.get(user.locale, user.locale),
        role=role_label(ctx, user.role) or none,
        area=area_label(ctx, user.area_code) or none,
        announcements=ctx.t("settings.on") if on else ctx.t("settings.off"),
    )
    if intro:
        text = f"{intro}\n\n{text}"
    rows = [
        [
            ctx.button("buttons.change_language", ChangeSetting("lang")),
            ctx.button("buttons.change_role", ChangeSetting("role")),
        ],
        [
            ctx.button("buttons.change_area", ChangeSetting("area")),
            ctx.button(
                "buttons.announcements_off" if on else "buttons.announcements_on",
                ChangeSetting("off" if on else "on"),
            ),
        ],
        [home_button(ctx)],
    ]
    ctx.clear_state()
    ctx.reply(text, rows, edit=ctx.pressed)


@router.section("settings", "menu.settings", order=80, personal=True)
async def settings_section(ctx: Context) -> None:
    await show_settings(ctx)


@router.action(ShowSettings, personal=True)
async def back_to_settings(ctx: Context, _: ShowSettings) -> None:
    await show_settings(ctx)


@router.action(ChangeSetting, personal=True)
async def change_setting(ctx: Context, act: ChangeSetting) -> None:
    if act.what == "lang":
        await ask_language(ctx, SETTINGS)
        return
    if act.what not in ("role", "area", "on", "off"):
        raise StaleButton(f"unknown setting {act.what!r}")
    if await needs_consent(ctx):
        return
    if act.what == "role":
        await ask_role(ctx, SETTINGS)
    elif act.what == "area":
        await ask_area(ctx, SETTINGS)
    elif act.what == "on":
        await ctx.update_user(status=ACTIVE)
        await show_settings(ctx, intro=ctx.t("settings.announcements_back_on"))
    else:
        await ctx.update_user(status=STOPPED)
        await show_settings(ctx, intro=ctx.t("settings.stopped"))


@router.command("stop", personal=True)
async def stop(ctx: Context) -> None:
    await ctx.update_user(status=STOPPED)
    await show_menu(ctx, intro=ctx.t("settings.stopped"))


@router.section("mydata", "menu.mydata", order=85, personal=True)
async def my_data(ctx: Context) -> None:
    user = ctx.user
    if not user.stored:  # never agreed, or forgotten: there is nothing to show
        ctx.reply(ctx.t("clarity.mydata_nothing"), [[home_button(ctx)]], edit=ctx.pressed)
        return
    none = ctx.t("settings.none")
    counts = await ctx.services.members.personal_data(user)
    stored = [
        ctx.t(f"mydata.rows.{table}", count=count) for table, count in counts.items() if count
    ]
    text = ctx.t(
        "mydata.view",
        channel=channel_label(ctx, user.channel),
        name=user.display_name or none,
        language=ctx.services.catalog.campaign.locale_names.get(user.locale, user.locale),
        role=role_label(ctx, user.role) or none,
        area=area_label(ctx, user.area_code) or none,
        announcements=ctx.t("settings.on")
        if user.receives_announcements
        else ctx.t("settings.off"),
        consent=_local(ctx, user.consent_at),
        created=_local(ctx, user.created_at),
        last_seen=_local(ctx, user.last_seen_at),
        other="\n".join(f"• {line}" for line in stored) or ctx.t("clarity.mydata_no_other"),
    )
    linked = await linked_line(ctx)
    ctx.reply(
        f"{text}\n{linked}" if linked else text,
        [[ctx.button("buttons.forget", Forget("ask")), home_button(ctx)]],
        edit=ctx.pressed,
    )


@router.command("forget", personal=True)
async def forget(ctx: Context) -> None:
    await _ask_forget(ctx)


async def _ask_forget(ctx: Context) -> None:
    buttons = [
        [
            ctx.button("buttons.forget_yes", Forget("yes")),
            ctx.button("buttons.forget_no", Forget("no")),
        ]
    ]
    ctx.reply(ctx.t("forget.confirm"), buttons, edit=ctx.pressed)


@router.action(Forget, personal=True)
async def forget_pressed(ctx: Context, act: Forget) -> None:
    if act.step == "ask":
        await _ask_forget(ctx)
    elif act.step == "no":
        await show_menu(ctx, intro=ctx.t("forget.kept"), edit=True)
    elif act.step == "yes":
        deleted = await ctx.forget()
        lines = [ctx.t("forget.deleted.profile")]
        lines += [ctx.t(f"mydata.rows.{table}", count=n) for table, n in deleted.items() if n]
        ctx.reply(ctx.t("forget.done", deleted="\n".join(f"• {line}" for line in lines)), edit=True)
    else:
        raise StaleButton(f"unknown forget step {act.step!r}")
