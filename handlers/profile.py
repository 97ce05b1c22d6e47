"""The member's profile: language, role and ward/commune, asked during onboarding and changed
later from settings. Every step can be skipped; nothing personal is kept without consent.

The same steps serve three flows, carried in each button: "o" (onboarding: go on to the next step,
and to the main menu after the last; "o.<address>" goes to that address instead, where a deep link
pointed before consent), "s" (settings: go back to the settings view, which is reached through
its address, not an import: the settings feature builds on these steps) and "c" (the first
screen: the language, then the privacy notice in that language; "c.<address>" as for "o").
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.i18n import Markup
from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.router import Router
from handlers.consent import ADDRESS, ask_consent, needs_consent
from handlers.menu import OpenSection, open_address, show_menu

router = Router("profile")

ONBOARDING, SETTINGS, CONSENT = "o", "s", "c"
SKIP = "-"
AREAS_PER_PAGE = 8
AREA_COLUMNS = 2
AREA_SEARCH_STATE = "profile.area_search"
SETTINGS_ADDRESS = "settings"  # the settings section, where the "s" flow returns


@action("lang")
@dataclass(frozen=True)
class ChooseLanguage:
    locale: str
    flow: str = ONBOARDING


@action("role")
@dataclass(frozen=True)
class ChooseRole:
    role: str
    flow: str = ONBOARDING


@action("areap")
@dataclass(frozen=True)
class AreaPage:
    page: int
    flow: str = ONBOARDING


@action("area")
@dataclass(frozen=True)
class ChooseArea:
    code: str
    flow: str = ONBOARDING


def onboarding(then: str = "") -> str:
    """The onboarding flow, ending at the address `then` (else at the main menu)."""
    return f"{ONBOARDING}.{then}" if then else ONBOARDING


def before_consent(then: str = "") -> str:
    """The first screen's flow: the language, then the privacy notice in it (then onboarding,
    ending at `then`)."""
    return f"{CONSENT}.{then}" if ADDRESS.fullmatch(then) else CONSENT


def _destination(flow: str) -> str:
    kind, dot, address = flow.partition(".")
    return address if dot and kind in (ONBOARDING, CONSENT) else ""


def _check_flow(flow: str) -> None:
    if flow not in (SETTINGS, ONBOARDING, CONSENT) and not _destination(flow):
        raise StaleButton(f"unknown flow {flow!r}")


def area_label(ctx: Context, code: str | None) -> str:
    area = ctx.services.catalog.areas.get(code)
    if area is None:
        return ""
    # "phường Ninh Kiều", "Ninh Kiều ward": each language puts the type where it goes.
    return str(ctx.t("clarity.area_label", type=ctx.t(f"area.type.{area.type}"), name=area.name))


def role_label(ctx: Context, role_id: str | None) -> str:
    role = ctx.services.catalog.campaign.role(role_id)
    return ctx.services.i18n.text(ctx.locale, role.label) if role else ""


# -- steps ----------------------------------------------------------------------------------
async def ask_language(ctx: Context, flow: str, *, intro: str = "") -> None:
    names = ctx.services.catalog.campaign.locale_names
    buttons = [
        [Button(name, action=ChooseLanguage(code, flow).pack()) for code, name in names.items()]
    ]
    if flow == SETTINGS:
        buttons.append([_back_to_settings(ctx)])
    # Before the language is known, the question is asked in every language offered.
    key = "clarity.first_language" if flow.partition(".")[0] == CONSENT else "profile.ask_language"
    ctx.reply(_join(intro, ctx.t(key)), buttons, edit=ctx.pressed)


async def ask_role(ctx: Context, flow: str, *, intro: str = "") -> None:
    roles = ctx.services.catalog.campaign.roles
    buttons = [
        Button(
            ctx.services.i18n.text(ctx.locale, role.label), action=ChooseRole(role.id, flow).pack()
        )
        for role in roles
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_skip_or_back(ctx, ChooseRole(SKIP, flow), flow)])
    ctx.reply(_join(intro, ctx.t("profile.ask_role")), rows, edit=ctx.pressed)


async def ask_area(ctx: Context, flow: str, *, page: int = 0, intro: str = "") -> None:
    areas = ctx.services.catalog.areas.all
    pages = max(1, -(-len(areas) // AREAS_PER_PAGE))
    if not 0 <= page < pages:
        raise StaleButton(f"no area page {page}")
    shown = areas[page * AREAS_PER_PAGE : (page + 1) * AREAS_PER_PAGE]
    rows = _area_rows(ctx, shown, flow)
    nav = []
    if page > 0:
        nav.append(ctx.button("buttons.previous", AreaPage(page - 1, flow)))
    if page < pages - 1:
        nav.append(ctx.button("buttons.next", AreaPage(page + 1, flow)))
    if nav:
        rows.append(nav)
    rows.append([_skip_or_back(ctx, ChooseArea(SKIP, flow), flow)])
    text = ctx.t("profile.ask_area", page=page + 1, pages=pages)
    ctx.set_state(AREA_SEARCH_STATE, flow=flow)
    ctx.reply(_join(intro, text), rows, edit=ctx.pressed)


def _area_rows(ctx: Context, areas: object, flow: str) -> list[list[Button]]:
    buttons = [
        Button(area_label(ctx, area.code), action=ChooseArea(area.code, flow).pack())
        for area in areas  # type: ignore[attr-defined]
    ]
    return [buttons[i : i + AREA_COLUMNS] for i in range(0, len(buttons), AREA_COLUMNS)]


def _skip_or_back(ctx: Context, skip_action: object, flow: str) -> Button:
    if flow == SETTINGS:
        return _back_to_settings(ctx)
    return ctx.button("buttons.skip", skip_action)


def _back_to_settings(ctx: Context) -> Button:
    return ctx.button("buttons.back", OpenSection(SETTINGS_ADDRESS))


def _join(intro: str, text: str) -> Markup:
    return Markup(f"{intro}\n\n{text}" if intro else text)


async def _after_step(ctx: Context, flow: str, step: str, saved: str) -> None:
    """Go on after a step: the next onboarding question, or back to settings with a note."""
    if flow == SETTINGS:
        await open_address(ctx, SETTINGS_ADDRESS, intro=saved)
    elif step == "language":
        await ask_role(ctx, flow)
    elif step == "role":
        await ask_area(ctx, flow, intro=saved)
    else:
        await finish_onboarding(ctx, intro=saved, then=_destination(flow))


async def finish_onboarding(ctx: Context, *, intro: str = "", then: str = "") -> None:
    """The profile is done: open where the member was going, else the main menu."""
    done = ctx.t("start.done")
    intro = f"{intro}\n\n{done}" if intro else done
    if then and await open_address(ctx, then, intro=intro):
        return
    await show_menu(ctx, intro=intro, edit=ctx.pressed)


# -- button and text handlers ------------------------------------------------------------------
@router.action(ChooseLanguage)
async def choose_language(ctx: Context, act: ChooseLanguage) -> None:
    _check_flow(act.flow)
    if act.locale not in ctx.services.catalog.campaign.locales:
        raise StaleButton(f"unknown locale {act.locale!r}")
    # The language is needed to talk at all; someone not yet stored has it for this turn, and
    # the consent button carries it: it is kept once they agree.
    await ctx.update_user(locale=act.locale)
    if act.flow.partition(".")[0] == CONSENT:
        if ctx.user.consented:  # an old first screen pressed again: go on as onboarding
            await ask_role(ctx, onboarding(_destination(act.flow)))
        else:
            await ask_consent(ctx, then=_destination(act.flow), locale=act.locale)
        return
    await _after_step(ctx, act.flow, "language", ctx.t("profile.saved_language"))


@router.action(ChooseRole)
async def choose_role(ctx: Context, act: ChooseRole) -> None:
    _check_flow(act.flow)
    if act.role != SKIP and ctx.services.catalog.campaign.role(act.role) is None:
        raise StaleButton(f"unknown role {act.role!r}")
    if await needs_consent(ctx):
        return
    saved = ""
    if act.role != SKIP:
        await ctx.update_user(role=act.role)
        saved = ctx.t("profile.saved_role", role=role_label(ctx, act.role))
    await _after_step(ctx, act.flow, "role", saved)


@router.action(AreaPage)
async def area_page(ctx: Context, act: AreaPage) -> None:
    _check_flow(act.flow)
    await ask_area(ctx, act.flow, page=act.page)


@router.action(ChooseArea)
async def choose_area(ctx: Context, act: ChooseArea) -> None:
    _check_flow(act.flow)
    if act.code != SKIP and ctx.services.catalog.areas.get(act.code) is None:
        raise StaleButton(f"unknown area {act.code!r}")
    ctx.clear_state()
    if await needs_consent(ctx):
        return
    saved = ""
    if act.code != SKIP:
        await ctx.update_user(area_code=act.code)
        saved = ctx.t("profile.saved_area", area=area_label(ctx, act.code))
    await _after_step(ctx, act.flow, "area", saved)


@router.state(AREA_SEARCH_STATE)
async def search_area(ctx: Context, text: str) -> None:
    flow = ctx.session.data.get("flow", ONBOARDING)
    _check_flow(flow)
    query = text.strip()[:64]
    found = ctx.services.catalog.areas.search(query)
    if not found:
        rows = [
            [ctx.button("buttons.area_list", AreaPage(0, flow))],
            [_skip_or_back(ctx, ChooseArea(SKIP, flow), flow)],
        ]
        ctx.reply(ctx.t("profile.area_not_found", query=query), rows)
        return
    rows = _area_rows(ctx, found, flow)
    rows.append([ctx.button("buttons.area_list", AreaPage(0, flow))])
    rows.append([_skip_or_back(ctx, ChooseArea(SKIP, flow), flow)])
    ctx.reply(ctx.t("profile.area_found", query=query, count=len(found)), rows)
