"""What the store hands back is records and plain values: a database row never leaves bot.store.

Services, handlers and the CLI read attributes of the dataclasses in `bot.records`; a row that
slipped out would tie them to column names and to aiosqlite. Every public method of every
repository that gives back more than a plain value is called here on a seeded database, and
what it returns is walked to the bottom.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import aiosqlite
import pytest

from bot.records import (
    SCHEDULED,
    AreaMembers,
    AudienceFilter,
    CompletedRun,
    FaqDraft,
    Recheck,
    Session,
)
from bot.store import Store

NOW = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)
PLAIN = (str, int, float, bytes, datetime, type(None))  # bool is an int
# Return annotations that need no walking (postponed annotations are strings).
SCALARS = {"None", "int", "bool", "str", "float", "datetime"}
CRITERIA = [{"id": "c1", "points": 2.0, "max": 2.0, "met": True}]


def repositories(store: Store) -> dict[str, object]:
    return {name: repo for name, repo in vars(store).items() if repo is not store.db}


def public_methods(repo: object) -> dict[str, object]:
    """The coroutine and async-iterator methods other parts of the bot may call."""
    return {
        name: method
        for name, method in inspect.getmembers(type(repo), inspect.isfunction)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method))
    }


def returns_more_than_a_scalar(method) -> bool:
    annotation = str(inspect.signature(method).return_annotation)
    return not set(annotation.replace(" ", "").split("|")) <= SCALARS


def assert_plain(value: object, where: str) -> None:
    """Records (dataclasses) and plain values, in lists, tuples, sets and dicts; never a row."""
    assert not isinstance(value, aiosqlite.Row), f"{where} gives back a database row"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            assert_plain(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_plain(key, where)
            assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            assert_plain(item, f"{where}[]")
    else:
        assert isinstance(value, PLAIN), f"{where} gives back a {type(value).__name__}"


async def outcome(call) -> object:
    """What a call gives back: awaited, or every batch of an async iterator."""
    if inspect.isawaitable(call):
        return await call
    return [batch async for batch in call]


# One call of each method that returns more than a scalar, on the data `seeded` makes. Each is
# seeded to give something back: an empty list would pass without proving anything.
CALLS = {
    "users.seen": lambda s, x: s.users.seen(
        "telegram", "1", chat_id="1", display_name="An", locale="vi"
    ),
    "users.arrive": lambda s, x: s.users.arrive(
        "telegram", "1", chat_id="1", display_name="An", locale="vi"
    ),
    "users.touch": lambda s, x: s.users.touch("telegram", "1", chat_id="1", display_name="An"),
    "users.get": lambda s, x: s.users.get(x.member.id),
    "users.find": lambda s, x: s.users.find("telegram", "1"),
    "users.update": lambda s, x: s.users.update(x.member.id, display_name="An N."),
    "users.inactive_among": lambda s, x: s.users.inactive_among({x.member.id, x.stopped.id}),
    "users.last_seen_of": lambda s, x: s.users.last_seen_of({x.member.id}),
    "users.personal_data_counts": lambda s, x: s.users.personal_data_counts(x.member.id),
    "users.forget": lambda s, x: s.users.forget(x.leaving.id),
    "accounts.merge": lambda s, x: s.accounts.merge("zalobot", "z1", "z1", x.member.id),
    "accounts.switch_to": lambda s, x: s.accounts.switch_to(
        "telegram", "1", chat_id="1", display_name="An"
    ),
    "staff.holders": lambda s, x: s.staff.holders(frozenset({("telegram", "1")})),
    "accounts.of_person": lambda s, x: s.accounts.of_person(x.member.id),
    "accounts.alternative": lambda s, x: s.accounts.alternative(
        x.member.id, ["zalobot"], ["telegram", "zalobot"]
    ),
    "sessions.get": lambda s, x: s.sessions.get(x.member.id),
    "sessions.choices": lambda s, x: s.sessions.choices(x.member.id),
    "assessments.snapshot_body": lambda s, x: s.assessments.snapshot_body("gia-dinh", 1),
    "assessments.latest_versions": lambda s, x: s.assessments.latest_versions(),
    "assessments.start": lambda s, x: s.assessments.start(
        x.member.id, "don-vi", 1, "assessment", None, None
    ),
    "assessments.get": lambda s, x: s.assessments.get(x.done.id),
    "assessments.save_progress": lambda s, x: s.assessments.save_progress(
        x.open_run.id, {"q1": "a"}, 1
    ),
    "assessments.complete": lambda s, x: s.assessments.complete(
        x.to_complete.id, {}, CRITERIA, 2.0, 2.0, True
    ),
    "assessments.in_progress": lambda s, x: s.assessments.in_progress(x.member.id),
    "assessments.history": lambda s, x: s.assessments.history(x.member.id),
    "assessments.passed_quiz_plans": lambda s, x: s.assessments.passed_quiz_plans(x.member.id),
    "assessments.rechecks_due": lambda s, x: s.assessments.rechecks_due(NOW),
    "assessments.rechecks_upcoming": lambda s, x: s.assessments.rechecks_upcoming(
        NOW, NOW + timedelta(days=2)
    ),
    "calendar.active_events": lambda s, x: s.calendar.active_events(),
    "calendar.due": lambda s, x: s.calendar.due(NOW),
    "calendar.upcoming": lambda s, x: s.calendar.upcoming(NOW, NOW + timedelta(days=2)),
    "calendar.firings": lambda s, x: s.calendar.firings(x.event_id),
    "calendar.topics_of": lambda s, x: s.calendar.topics_of(x.member.id),
    "users.register_assisted": lambda s, x: s.users.register_assisted(
        "Bà Ba", "ho-gia-dinh", "31135", "vi", "telegram:1"
    ),
    "users.registered_by": lambda s, x: s.users.registered_by("telegram:1"),
    "staff.members": lambda s, x: s.staff.members(),
    "staff.held": lambda s, x: s.staff.held(x.member.id),
    "staff.audit_trail": lambda s, x: s.staff.audit_trail(),
    "announcements.create": lambda s, x: s.announcements.create(
        created_by="cli", text="Tin", audience=AudienceFilter()
    ),
    "announcements.get": lambda s, x: s.announcements.get(x.scheduled.id),
    "announcements.ask_approval": lambda s, x: s.announcements.ask_approval(
        x.draft.id, None, ("telegram", "1", "vi")
    ),
    "announcements.awaiting_approval": lambda s, x: s.announcements.awaiting_approval(),
    "announcements.decide": lambda s, x: s.announcements.decide(x.draft.id, "approved", "cli"),
    "announcements.update": lambda s, x: s.announcements.update(x.scheduled.id, text="Tin mới"),
    "announcements.update_if": lambda s, x: s.announcements.update_if(
        x.scheduled.id, (SCHEDULED,), text="Tin mới hơn"
    ),
    "announcements.listing": lambda s, x: s.announcements.listing((SCHEDULED,)),
    "announcements.due": lambda s, x: s.announcements.due(NOW),
    "announcements.counts": lambda s, x: s.announcements.counts(x.sending.id),
    "announcements.outcomes": lambda s, x: s.announcements.outcomes(x.sending.id),
    "announcements.recipients": lambda s, x: s.announcements.recipients(x.sending.id),
    "console.session": lambda s, x: s.console.session("s", NOW),
    "announcements.counts_by_channel": lambda s, x: s.announcements.counts_by_channel(x.sending.id),
    "deliveries.prune": lambda s, x: s.deliveries.prune(NOW),
    "deliveries.claim": lambda s, x: s.deliveries.claim(NOW, 10, ("telegram",)),
    "deliveries.sending_announcements": lambda s, x: s.deliveries.sending_announcements(),
    "reports.members": lambda s, x: s.reports.members(NOW - timedelta(days=30)),
    "reports.members_by_role": lambda s, x: s.reports.members_by_role(),
    "reports.members_per_area": lambda s, x: s.reports.members_per_area(NOW - timedelta(days=30)),
    "reports.members_by_area": lambda s, x: s.reports.members_by_area(NOW - timedelta(days=30)),
    "reports.results": lambda s, x: s.reports.results(["gia-dinh"]),
    "reports.latest_versions": lambda s, x: s.reports.latest_versions(["gia-dinh"]),
    "reports.results_by_area": lambda s, x: s.reports.results_by_area(["gia-dinh"]),
    "reports.area_result": lambda s, x: s.reports.area_result(["gia-dinh"], "31135"),
    "reports.weekly": lambda s, x: s.reports.weekly(["gia-dinh"], NOW - timedelta(days=30)),
    "reports.completed_runs": lambda s, x: s.reports.completed_runs(None, None),
    "inbound.pending": lambda s, x: s.inbound.pending("telegram"),
    "tickets.create": lambda s, x: s.tickets.create(x.member.id, "Hỏi thêm?", "31135", None),
    "tickets.get": lambda s, x: s.tickets.get(x.answered.id),
    "tickets.open": lambda s, x: s.tickets.open(),
    "tickets.of_member": lambda s, x: s.tickets.of_member(x.member.id),
    "tickets.answer": lambda s, x: s.tickets.answer(x.to_answer.id, "Đáp", "cli"),
    "tickets.unnotified": lambda s, x: s.tickets.unnotified(),
    "tickets.faq_drafts": lambda s, x: s.tickets.faq_drafts(),
}


@pytest.fixture
async def store(database_at):
    opened = await Store.open(await database_at("records"), clock=lambda: NOW)
    yield opened
    await opened.close()


@pytest.fixture
async def seeded(store: Store) -> SimpleNamespace:
    """A little of everything, written through the repositories themselves."""
    users, runs = store.users, store.assessments
    member, _ = await users.seen("telegram", "1", chat_id="1", display_name="An", locale="vi")
    member = await users.update(
        member.id, consent_at=store.db.now(), role="ho-gia-dinh", area_code="31135"
    )
    stopped, _ = await users.seen("telegram", "2", chat_id="2", display_name="Bình", locale="vi")
    await users.set_status("telegram", "2", "stopped")
    leaving, _ = await users.seen("telegram", "3", chat_id="3", display_name="Chi", locale="vi")
    await store.sessions.save(member.id, Session("ask", {"step": 1}))
    await store.sessions.save_choices(member.id, [["Một", "menu:1"]])

    for definition in ("gia-dinh", "cong-dan", "dong-ho", "don-vi", "quiz-387"):
        await runs.snapshot(definition, 1, "assessment", {"id": definition})
    done = await runs.start(member.id, "gia-dinh", 1, "assessment", "ho-gia-dinh", "31135")
    done = await runs.complete(done.id, {"q1": "a"}, CRITERIA, 2.0, 2.0, True)
    quiz = await runs.start(member.id, "quiz-387", 1, "quiz", None, None)
    await runs.complete(quiz.id, {}, [], 1.0, 1.0, True)
    open_run = await runs.start(member.id, "cong-dan", 1, "assessment", None, None)
    to_complete = await runs.start(member.id, "dong-ho", 1, "assessment", None, None)
    await runs.remind_recheck(member.id, "gia-dinh", NOW - timedelta(hours=1))
    await runs.remind_recheck(member.id, "cong-dan", NOW + timedelta(days=1))

    event_id = await store.calendar.add_event({"title": {"vi": "Tuần lễ"}}, "cli")
    await store.calendar.plan(
        [
            ("event", event_id, "2026-10-01", 0, NOW - timedelta(minutes=1), 7200.0),
            ("event", event_id, "2026-10-01", 1, NOW + timedelta(hours=1), 7200.0),
        ]
    )
    await store.calendar.toggle_topic(member.id, "events")

    await store.staff.grant(member.id, "admin", "cli")
    await store.staff.audit("cli", "grant", user=member.id)
    scheduled = await store.announcements.create(
        created_by="cli", text="Tin", audience=AudienceFilter(), status=SCHEDULED
    )
    sending = await store.announcements.create(
        created_by="cli", text="Tin gửi", audience=AudienceFilter(), status=SCHEDULED
    )
    draft = await store.announcements.create(
        created_by="cli", text="Nháp", audience=AudienceFilter()
    )
    assert await store.announcements.start_sending(sending, (), None) == 1

    answered = await store.tickets.create(member.id, "Hỏi gì?", "31135", None)
    answered = await store.tickets.answer(answered.id, "Đáp thế này.", "cli")
    assert answered is not None
    await store.tickets.draft_faq(answered, "cli")
    to_answer = await store.tickets.create(member.id, "Hỏi nữa?", "31135", None)
    await store.inbound.keep("telegram", [(41, "{\"update_id\": 41}")])
    await store.console.open_session("s", member.id, "csrf", NOW + timedelta(hours=1))
    return SimpleNamespace(
        member=member,
        stopped=stopped,
        leaving=leaving,
        done=done,
        open_run=open_run,
        to_complete=to_complete,
        event_id=event_id,
        scheduled=scheduled,
        sending=sending,
        draft=draft,
        answered=answered,
        to_answer=to_answer,
    )


async def test_every_repository_method_gives_back_records_not_rows(store, seeded):
    wanted = set()
    for repo_name, repo in repositories(store).items():
        for name, method in public_methods(repo).items():
            annotation = str(inspect.signature(method).return_annotation)
            assert "Row" not in annotation, f"{repo_name}.{name} is typed to return rows"
            if returns_more_than_a_scalar(method):
                wanted.add(f"{repo_name}.{name}")
    missing = wanted - set(CALLS)
    assert not missing, f"add a call of each to CALLS: {sorted(missing)}"

    for where, make in CALLS.items():
        value = await outcome(make(store, seeded))
        assert value, f"{where} gave back nothing: seed something for it"
        assert_plain(value, where)


async def test_the_reads_services_use_convert_every_column(store, seeded):
    member = seeded.member
    assert await store.assessments.rechecks_due(NOW) == [
        Recheck(id=1, user_id=member.id, definition_id="gia-dinh", due_at=NOW - timedelta(hours=1))
    ]
    (upcoming,) = await store.assessments.rechecks_upcoming(NOW, NOW + timedelta(days=2))
    assert (upcoming.definition_id, upcoming.due_at) == ("cong-dan", NOW + timedelta(days=1))

    groups = await store.reports.members_by_area(NOW - timedelta(days=30))
    assert groups == [AreaMembers(area_code="31135", role="ho-gia-dinh", members=1, active=1)]

    batches = [b async for b in store.reports.completed_runs(None, None, batch=1)]
    assert [len(b) for b in batches] == [1, 1]  # one record a batch, as asked
    run, quiz = batches[0][0], batches[1][0]
    assert isinstance(run, CompletedRun)
    assert (run.id, run.user_id, run.definition_id, run.kind) == (
        seeded.done.id,
        member.id,
        "gia-dinh",
        "assessment",
    )
    assert (run.role, run.area_code, run.criteria) == ("ho-gia-dinh", "31135", CRITERIA)
    assert (run.total, run.max_total, run.passed) == (2.0, 2.0, True)
    assert run.started_at == run.finished_at == NOW
    assert (quiz.criteria, quiz.role, quiz.area_code) == ([], None, None)
    window = store.reports.completed_runs(NOW + timedelta(seconds=1), None)
    assert [b async for b in window] == []

    (draft,) = await store.tickets.faq_drafts()
    assert draft == FaqDraft(
        id=1,
        ticket_id=seeded.answered.id,
        question="Hỏi gì?",
        answer="Đáp thế này.",
        created_by="cli",
        created_at=NOW,
    )
