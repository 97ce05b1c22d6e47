"""A handful of whole conversations again, on PostgreSQL: the same handlers, services and
repositories over the second store (a schema of the test's own on the test server)."""

import pytest

from bot.config import Settings
from tests import pg
from tests.handlers.test_admin import (
    test_audience_selection_on_a_seeded_database,
    test_editor_drafts_and_admin_sends,
    test_staff_roles_are_granted_revoked_and_audited,
)
from tests.handlers.test_assessment import (
    test_resume_after_a_restart_on_the_same_database,
    test_retake_and_history_show_the_change,
    test_take_a_family_self_assessment,
)
from tests.handlers.test_conversations import (
    test_forget_deletes_everything_personal,
    test_mydata_shows_everything_kept,
    test_start_onboarding_to_plan_details,
)
from tests.handlers.test_linking import (
    test_an_account_with_data_of_its_own_is_merged_into_the_person,
    test_preferred_channel_unlink_and_forget_everywhere,
)
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
