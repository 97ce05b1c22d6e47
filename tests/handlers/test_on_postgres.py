"""A handful of whole conversations again, on PostgreSQL: the same handlers, services and
repositories over the second store (a schema of the test's own on the test server)."""

import asyncio
import re

import pytest

from bot.app import App
from bot.config import Settings
from bot.core.messages import Reply
from bot.core.text import plain
from tests import pg
from tests.handlers.test_admin import (
    test_audience_selection_on_a_seeded_database,
    test_editor_drafts_and_admin_sends,
    test_staff_roles_are_granted_revoked_and_audited,
)
from tests.handlers.test_assessment import (
    begin,
    option_labels,
    question_number,
    test_resume_after_a_restart_on_the_same_database,
    test_retake_and_history_show_the_change,
    test_take_a_family_self_assessment,
)
from tests.handlers.test_conversations import (
    onboard,
    test_forget_deletes_everything_personal,
    test_mydata_shows_everything_kept,
    test_start_onboarding_to_plan_details,
)
from tests.handlers.test_linking import (
    test_an_account_with_data_of_its_own_is_merged_into_the_person,
    test_preferred_channel_unlink_and_forget_everywhere,
)
from tests.helpers import Member
from tests.shared import CONTENT

# Collected here a second time, with the `settings` below: on PostgreSQL.
__all__ = [
    "test_an_account_with_data_of_its_own_is_merged_into_the_person",
    "test_audience_selection_on_a_seeded_database",
    "test_editor_drafts_and_admin_sends",
    "test_forget_deletes_everything_personal",
    "test_mydata_shows_everything_kept",
    "test_preferred_channel_unlink_and_forget_everywhere",
    "test_resume_after_a_restart_on_the_same_database",
    "test_retake_and_history_show_the_change",
    "test_staff_roles_are_granted_revoked_and_audited",
    "test_start_onboarding_to_plan_details",
    "test_take_a_family_self_assessment",
]
pytestmark = pg.needs_pg


@pytest.fixture
async def settings(tmp_path):
    """The conftest's settings, with DATABASE_URL naming a fresh schema."""
    schemas = pg.Schemas()
    url = await schemas.url("bot")
    yield Settings(
        database_path=tmp_path / "bot.sqlite3",
        database_url=url,
        content_dir=CONTENT,
        admin_ids=frozenset({999}),
    )
    await schemas.drop()


async def test_presses_landing_on_two_instances_continue_one_assessment(settings, clock, catalog):
    """Behind a load balancer a member's presses land on either instance: each reads the run
    as the database has it, never an instance's stale copy."""
    one = await App.create(settings, clock=clock, catalog=catalog)
    two = await App.create(settings, clock=clock, catalog=catalog)
    try:
        member = Member(one)
        await onboard(member)
        await begin(member, "Gia đình học tập")
        for n, app in enumerate([two, one, two, one], start=1):
            assert question_number(member)[0] == n
            member.app = app  # the next press reaches the other instance
            await member.press(option_labels(member)[0])
        assert question_number(member)[0] == 5
        runs = await two.store.assessments.in_progress(
            (await two.store.users.find("telegram", member.user_id)).id
        )
        assert [len(run.answers) for run in runs] == [4]
    finally:
        await one.close()
        await two.close()


def asked_after(replies: list[Reply]) -> int:
    """The number of the question an answer was followed by ("Câu 3/8" -> 3)."""
    text = "\n".join(plain(reply.text) for reply in replies)
    found = re.search(r"Câu (\d+)/\d+", text)
    assert found, text
    return int(found.group(1))


async def test_answers_typed_at_once_on_two_instances_each_go_to_the_next_question(
    settings, clock, catalog
):
    """A member types two answers quickly and they land on two instances at the same moment.
    One waits for the member's turn and reads what the other wrote: each answer goes to its own
    question, once, in the order they were handled, none lost. (Without the turn both read the
    same question: both answers go to it, one undoing the other, and both ask the same next
    question.)"""
    one = await App.create(settings, clock=clock, catalog=catalog)
    two = await App.create(settings, clock=clock, catalog=catalog)
    try:
        member = Member(one)
        await onboard(member)
        await begin(member, "Gia đình học tập")
        _, total = question_number(member)
        typed: dict[int, int] = {}  # question number -> the option number typed for it
        options = (1, 2)  # typed on instance one, on instance two
        for n in range(1, total - 1, 2):  # questions n and n + 1, neither the last
            replies = await asyncio.gather(
                one.dispatcher.handle(member.typed(str(options[0]))),
                two.dispatcher.handle(member.typed(str(options[1]))),
            )
            asked = [asked_after(r) for r in replies]
            assert sorted(asked) == [n + 1, n + 2]
            for option, next_question in zip(options, asked, strict=True):
                typed[next_question - 1] = option

        user = await member.user()
        [run] = await two.store.assessments.in_progress(user.id)
        found = await two.services.assessments.run_of(user.id, run.id)
        assert found is not None
        run, definition = found
        assert run.position == len(typed)  # the next question is the one after the last typed
        assert run.answers == {
            definition.questions[n - 1].id: definition.questions[n - 1].options[option - 1].id
            for n, option in typed.items()
        }
    finally:
        await one.close()
        await two.close()


async def test_a_member_whose_turn_is_held_too_long_elsewhere_is_told_busy(
    settings, clock, catalog
):
    """Another instance stuck in the middle of a member's update holds their turn: past the
    store's patience the member is answered "busy" rather than left waiting; once the turn is
    free their next message is handled as usual."""
    one = await App.create(settings, clock=clock, catalog=catalog)
    two = await App.create(settings, clock=clock, catalog=catalog)
    two.store.db.lock_patience = 0.5  # read when two takes its first turn
    try:
        member = Member(two)
        async with one.store.turns.turn("telegram", member.user_id):  # one, stuck
            await member.command("/start")
        assert member.text == "Hội đang bận, Anh/Chị thử lại sau ít phút nhé."
        await member.command("/start")
        assert "Tiếng Việt" in member.labels()
    finally:
        await one.close()
        await two.close()
