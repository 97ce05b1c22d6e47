"""Helper mode: an officer, with the person present, registers a member who does not chat (name,
role, ward/commune, and consent: the officer reads the privacy notice aloud and confirms "Tôi đã
đọc và người này đồng ý") and fills in a self-assessment for them. /helper lists the people this
officer helped.

The person becomes a member row without a chat account (bot.records.ASSISTED): counted in the
figures, never messaged; their results are marked as entered by the officer ("nhập hộ" in
exports). When the person later has a phone of their own, the officer hands the records over: a
one-time code (the link-code service's, as /link uses) that the person sends from their own
Telegram or Zalo as "/link CODE"; their account then becomes this person, and the announcements
reach them there.

Everything here stays within the officer's scope: a person of another ward/commune is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.i18n import Markup
from bot.core.actions import action
from bot.core.context import Context, OutOfScope, StaleButton
from bot.core.messages import Button
from bot.core.roles import OFFICER
from bot.core.router import Router
from bot.records import ASSISTED, User
from bot.services.linking import CODE_TTL, Refusal
from bot.services.staff import find_area
from handlers.menu import home_button
from handlers.profile import area_label, role_label

router = Router("helper")

NAME_STATE = "helper.name"
ROLE_STATE = "helper.role"
AREA_STATE = "helper.area"
CONSENT_STATE = "helper.consent"
LISTED = 8  # people with an assessment button under the list


@action("ha")
@dataclass(frozen=True)
class HelpNew:
    pass


@action("hl")
@dataclass(frozen=True)
class HelperList:
    pass


@action("hr")
@dataclass(frozen=True)
class HelpRole:
    role: str


@action("hz")
@dataclass(frozen=True)
class HelpArea:
    code: str


@action("hc")
@dataclass(frozen=True)
class HelpConsent:
    pass


@action("hs")
@dataclass(frozen=True)
class HelpAssess:
    member: int


@action("hh")
@dataclass(frozen=True)
class HelpHandOver:
    member: int


@action("hf")
@dataclass(frozen=True)
class HelpForget:
    member: int
    sure: int  # 0: ask first; 1: confirmed


@action("hd")
@dataclass(frozen=True)
class HelpStart:
    member: int
    definition: str


@action("hq")
@dataclass(frozen=True)
class HelpAnswer:
    run: int
    question: int
    option: int


def _text(ctx: Context, value: object) -> Markup:
    return ctx.services.i18n.text(ctx.locale, value)


def _ref(user: User) -> str:
    return f"{user.channel}:{user.external_id}"


# -- the people this officer helped -----------------------------------------------------------
@router.command("helper", role=OFFICER)
async def helper(ctx: Context, *, intro: str = "") -> None:
    helped = await ctx.services.members.registered_by(ctx.actor)
    tz = ctx.services.settings.timezone
    lines = [ctx.t("branches.helper_title", count=len(helped))]
    lines += [
        ctx.t(
            "branches.helper_line",
            name=person.display_name,
            role=role_label(ctx, person.role),
            area=area_label(ctx, person.area_code),
            day=f"{person.created_at.astimezone(tz):%d/%m/%Y}",
        )
        + ("" if person.channel == ASSISTED else str(ctx.t("branches.helper_own_app")))
        for person in helped
    ]
    if not helped:
        lines.append(ctx.t("branches.helper_none"))
    rows = [[ctx.button("branches.buttons.helper_new", HelpNew())]]
    rows += [
        [ctx.button("branches.buttons.helper_assess", HelpAssess(p.id), name=p.display_name)]
        for p in [p for p in helped if p.channel == ASSISTED][:LISTED]
    ]
    rows.append([home_button(ctx)])
    text = "\n".join(str(line) for line in lines)
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows, edit=ctx.pressed)


# -- registering someone who does not chat -----------------------------------------------------
@router.action(HelpNew, role=OFFICER)
async def new_person(ctx: Context, _: HelpNew) -> None:
    ctx.set_state(NAME_STATE)
    ctx.reply(ctx.t("branches.helper_ask_name"), [[home_button(ctx)]])


@router.state(NAME_STATE, role=OFFICER)
async def name_typed(ctx: Context, text: str) -> None:
    name = " ".join(text.split())[:64]
    if not name:
        ctx.reply(ctx.t("branches.helper_ask_name"))
        return
    ctx.set_state(ROLE_STATE, name=name)
    roles = ctx.services.catalog.campaign.roles
    rows = [[Button(role_label(ctx, r.id), action=HelpRole(r.id).pack())] for r in roles]
    ctx.reply(ctx.t("branches.helper_ask_role", name=name), [*rows, [home_button(ctx)]])


def _draft(ctx: Context, state: str) -> dict:
    """The registration being made, from the step it should be at; a press from elsewhere (an
    old message, a forged button) is stale."""
    if ctx.session.state != state:
        raise StaleButton(f"no registration at {state}")
    return dict(ctx.session.data)


@router.action(HelpRole, role=OFFICER)
async def role_chosen(ctx: Context, act: HelpRole) -> None:
    draft = _draft(ctx, ROLE_STATE)
    if ctx.services.catalog.campaign.role(act.role) is None:
        raise StaleButton(f"unknown role {act.role}")
    draft["role"] = act.role
    if len(ctx.scope.codes) == 1:  # a branch of one ward/commune: that is where they live
        ctx.set_state(AREA_STATE, **draft)
        await area_chosen(ctx, HelpArea(ctx.scope.codes[0]))
        return
    ctx.set_state(AREA_STATE, **draft)
    ctx.reply(ctx.t("branches.helper_ask_area", name=draft["name"]), [[home_button(ctx)]])


@router.state(AREA_STATE, role=OFFICER)
async def area_typed(ctx: Context, text: str) -> None:
    area, candidates = find_area(ctx.services.catalog.areas, text[:64])
    found = [area] if area is not None else candidates
    found = [a for a in found if ctx.scope.covers(a.code)]
    if not found:
        ctx.reply(ctx.t("branches.helper_area_outside", query=text[:64]))
        return
    rows = [[Button(area_label(ctx, a.code), action=HelpArea(a.code).pack())] for a in found]
    ctx.reply(ctx.t("branches.area_which"), [*rows, [home_button(ctx)]])


@router.action(HelpArea, role=OFFICER)
async def area_chosen(ctx: Context, act: HelpArea) -> None:
    draft = _draft(ctx, AREA_STATE)
    if ctx.services.catalog.areas.get(act.code) is None:
        raise StaleButton(f"unknown area {act.code}")
    if not ctx.scope.covers(act.code):
        raise OutOfScope(f"area {act.code}")
    draft["area"] = act.code
    ctx.set_state(CONSENT_STATE, **draft)
    ctx.reply(
        ctx.t(
            "branches.helper_read_aloud",
            name=draft["name"],
            role=role_label(ctx, draft["role"]),
            area=area_label(ctx, act.code),
            notice=ctx.t("start.privacy"),
        ),
        [[ctx.button("branches.buttons.helper_consent", HelpConsent())], [home_button(ctx)]],
    )


@router.action(HelpConsent, role=OFFICER)
async def consent_confirmed(ctx: Context, _: HelpConsent) -> None:
    draft = _draft(ctx, CONSENT_STATE)
    if not ctx.scope.covers(draft.get("area")):
        raise OutOfScope(f"area {draft.get('area')}")
    person = await ctx.services.members.register_assisted(
        draft["name"], draft["role"], draft["area"], ctx.locale, ctx.actor
    )
    ctx.clear_state()
    await ctx.services.staff.audit(
        ctx.actor, "assisted_register", member=_ref(person), area=person.area_code
    )
    ctx.reply(
        ctx.t("branches.helper_registered", name=person.display_name),
        [
            [
                ctx.button(
                    "branches.buttons.helper_assess",
                    HelpAssess(person.id),
                    name=person.display_name,
                )
            ],
            [home_button(ctx)],
        ],
    )


# -- a self-assessment filled in for them ------------------------------------------------------
async def _helped(ctx: Context, member_id: int) -> User:
    """A person registered by an officer, in this officer's scope."""
    person = await ctx.services.staff.get(member_id)
    if person is None or person.channel != ASSISTED:
        raise StaleButton(f"{member_id} is not a member registered by an officer")
    if not ctx.scope.covers(person.area_code):
        raise OutOfScope(f"member {member_id} of area {person.area_code}")
    return person


@router.action(HelpAssess, role=OFFICER)
async def choose_assessment(ctx: Context, act: HelpAssess) -> None:
    person = await _helped(ctx, act.member)
    rows = [
        [Button(_text(ctx, d.title), action=HelpStart(person.id, d.id).pack())]
        for d in ctx.services.catalog.assessments()
    ]
    hand_over = ctx.button("branches.buttons.helper_hand_over", HelpHandOver(person.id))
    forget = ctx.button("branches.buttons.helper_forget", HelpForget(person.id, 0))
    ctx.reply(
        ctx.t("branches.helper_which_assessment", name=person.display_name),
        [*rows, [hand_over], [forget], [home_button(ctx)]],
        edit=ctx.pressed,
    )


@router.action(HelpHandOver, role=OFFICER)
async def hand_over(ctx: Context, act: HelpHandOver) -> None:
    """A code the person sends from their own app: their records become that account's."""
    person = await _helped(ctx, act.member)
    issued = await ctx.services.linking.issue(person)
    back = ctx.button("branches.buttons.helper_list", HelperList())
    if isinstance(issued, Refusal):
        ctx.reply(ctx.t("branches.helper_too_many_codes"), [[back]])
        return
    await ctx.services.staff.audit(ctx.actor, "hand_over", member=person.id)
    minutes = int(CODE_TTL.total_seconds() // 60)
    code = f"{issued[:4]} {issued[4:]}"
    ctx.reply(
        ctx.t("branches.helper_code", name=person.display_name, code=code, minutes=minutes),
        [[back], [home_button(ctx)]],
    )


@router.action(HelpForget, role=OFFICER)
async def forget_person(ctx: Context, act: HelpForget) -> None:
    """The person asks to be forgotten (they cannot type /forget themselves): with them present,
    the officer deletes everything the bot keeps of them."""
    person = await _helped(ctx, act.member)
    if not act.sure:
        ctx.reply(
            ctx.t("branches.helper_forget_sure", name=person.display_name),
            [
                [ctx.button("buttons.forget_yes", HelpForget(person.id, 1))],
                [ctx.button("branches.buttons.helper_list", HelperList())],
            ],
            edit=True,
        )
        return
    area = person.area_code
    await ctx.services.members.forget(person)
    # Who they were leaves with them; the action stays on the audit trail.
    await ctx.services.staff.audit(ctx.actor, "assisted_forget", area=area)
    await helper(ctx, intro=ctx.t("branches.helper_forgotten"))


@router.action(HelpStart, role=OFFICER)
async def start_assessment(ctx: Context, act: HelpStart) -> None:
    person = await _helped(ctx, act.member)
    definition = ctx.services.catalog.definition(act.definition)
    if definition is None or definition not in ctx.services.catalog.assessments():
        raise StaleButton(f"unknown assessment {act.definition}")
    run = await ctx.services.assessments.start(person, definition, entered_by=ctx.actor)
    await _ask(ctx, person, run.id, definition, 0)


async def _ask(ctx: Context, person: User, run_id: int, definition, index: int) -> None:
    question = definition.questions[index]
    text = ctx.t(
        "branches.helper_question",
        name=person.display_name,
        n=index + 1,
        total=len(definition.questions),
        question=_text(ctx, question.text),
    )
    rows = [
        [Button(_text(ctx, option.text), action=HelpAnswer(run_id, index, number).pack())]
        for number, option in enumerate(question.options)
    ]
    ctx.reply(text, [*rows, [home_button(ctx)]], edit=ctx.pressed)


@router.action(HelpAnswer, role=OFFICER)
async def answered(ctx: Context, act: HelpAnswer) -> None:
    found = await ctx.services.assessments.entered_run(act.run, ctx.actor)
    if found is None:
        raise StaleButton(f"run {act.run} is not one this officer is filling in")
    run, definition = found
    person = await _helped(ctx, run.user_id)
    question = (
        definition.questions[run.position] if run.position < len(definition.questions) else None
    )
    if (
        act.question != run.position
        or question is None
        or not (0 <= act.option < len(question.options))
    ):
        raise StaleButton(f"run {run.id} is at question {run.position}")
    run, result = await ctx.services.assessments.answer(run, definition, act.question, act.option)
    if result is None:
        await _ask(ctx, person, run.id, definition, run.position)
        return
    await ctx.services.staff.audit(
        ctx.actor, "assisted_assessment", member=_ref(person), definition=definition.id
    )
    ctx.reply(
        ctx.t(
            "branches.helper_result",
            name=person.display_name,
            title=_text(ctx, definition.title),
            met=result.met_count,
            total=len(result.criteria),
        ),
        [[ctx.button("branches.buttons.helper_list", HelperList())], [home_button(ctx)]],
        edit=True,
    )


@router.action(HelperList, role=OFFICER)
async def helper_list(ctx: Context, _: HelperList) -> None:
    await helper(ctx)
