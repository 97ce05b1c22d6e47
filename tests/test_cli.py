"""The `khuyenhoc` command as a person runs it."""

import asyncio
import os
import sqlite3
import subprocess
import sys

import pytest
import yaml

from bot.store import Store
from tests.conftest import CONTENT


def run(args, tmp_path, stdin="", **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM")}
    environment.update(CONTENT_DIR=str(CONTENT), DATABASE_PATH=str(tmp_path / "cli.sqlite3"), **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
    )


def test_run_without_token_explains_how_to_get_one(tmp_path):
    result = run(["run"], tmp_path)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "khuyenhoc chat" in result.stderr


def test_bad_setting_stops_start_up_naming_it(tmp_path):
    result = run(["run"], tmp_path, ADMIN_IDS="abc")
    assert result.returncode == 2 and "ADMIN_IDS" in result.stderr


def test_chat_replays_a_piped_conversation(tmp_path):
    script = "/start\n1\n1\n2\nninh kieu\n1\n1\n1\n1\n/mydata\n"
    result = run(["chat", "--as", "Hoa"], tmp_path, stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Kính chào Hoa!" in out
    assert "[1] Đồng ý   [2] Không đồng ý" in out
    assert "Đã lưu vai trò: Hộ gia đình." in out
    assert "Đã lưu: phường Ninh Kiều." in out
    assert "Kế hoạch của Hội" in out and "📊 Mục tiêu" in out
    assert "<b>" not in out  # markup is stripped in the terminal
    assert "Tên hiển thị: Hoa" in out
    assert (tmp_path / "chat.sqlite3").exists()  # its own database, beside the bot's
    assert not (tmp_path / "cli.sqlite3").exists()


# The home folder: staff commands act on the same database wherever they are typed.

STAFF_COMMANDS = [
    ["announce", "--text-file", "note.txt"],
    ["announce", "--text-file", "note.txt", "--dry-run"],
    ["announcements"],
    ["events", "list"],
    ["stats"],
    ["export", "members", "--out", "members.csv"],
    ["backup", "--out", "copy.sqlite3"],
    ["faq-drafts"],
]


def staff(args, cwd, stdin="", **env):
    """`khuyenhoc ARGS` typed in `cwd` by someone whose environment names no home or paths."""
    ours = ("TELEGRAM", "KHUYENHOC_", "DATABASE_PATH", "CONTENT_DIR", "BACKUP_DIR")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
    )


def open_database(path):
    """A database as `khuyenhoc run` leaves it (every migration applied)."""
    import asyncio

    from bot.store import Store

    async def create():
        await (await Store.open(path)).close()

    asyncio.run(create())


@pytest.mark.parametrize("args", STAFF_COMMANDS, ids=lambda a: " ".join(a))
def test_staff_commands_never_create_a_database(tmp_path, args):
    (tmp_path / "note.txt").write_text("Họp chi hội tối thứ Sáu.")
    result = staff(args, tmp_path)
    expected = tmp_path / "data" / "khuyenhoc.sqlite3"
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    message = result.stderr
    assert str(expected) in message
    assert "--home" in message and "KHUYENHOC_HOME" in message and "DATABASE_PATH" in message
    assert not (tmp_path / "data").exists()
    assert "Đã ghi" not in result.stdout


def test_init_makes_a_home_and_commands_find_it_from_anywhere(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = staff(["init", "--home", str(home)], elsewhere)
    assert made.returncode == 0, made.stderr
    assert (home / "data").is_dir() and (home / "backups").is_dir()
    env_file = (home / ".env").read_text()
    assert f"DATABASE_PATH={home}/data/khuyenhoc.sqlite3\n" in env_file
    assert f"BACKUP_DIR={home}/backups\n" in env_file
    assert "TELEGRAM_BOT_TOKEN=" in env_file  # the whole template, to fill in
    assert (home / ".env").stat().st_mode & 0o077 == 0  # the token will live there
    assert "TELEGRAM_BOT_TOKEN" in made.stdout and "--home" in made.stdout  # what to do next

    open_database(home / "data" / "khuyenhoc.sqlite3")
    (elsewhere / "note.txt").write_text("Họp chi hội tối thứ Sáu.")
    for args, env in (
        (["--home", str(home), "announce", "--text-file", "note.txt", "--yes"], {}),
        (["announce", "--text-file", "note.txt", "--home", str(home), "--yes"], {}),
        (["announce", "--text-file", "note.txt", "--yes"], {"KHUYENHOC_HOME": str(home)}),
    ):
        result = staff(args, elsewhere, **env)
        assert result.returncode == 0, result.stderr
    rows = sqlite3.connect(home / "data" / "khuyenhoc.sqlite3").execute(
        "SELECT count(*) FROM announcements"
    )
    assert rows.fetchone()[0] == 3
    assert not (elsewhere / "data").exists()

    # From inside the home (or below it), its .env is found without being named.
    listing = staff(["announcements"], home / "backups")
    assert listing.returncode == 0 and listing.stdout.count("Họp chi hội") == 3


def test_init_never_overwrites_a_settings_file(tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\n")
    result = staff(["init"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".env").read_text() == "TELEGRAM_BOT_TOKEN=123:abc\n"
    assert "không ghi đè" in result.stdout
    assert (tmp_path / "data").is_dir() and (tmp_path / "backups").is_dir()


def test_a_home_that_does_not_exist_is_named(tmp_path):
    result = staff(["--home", str(tmp_path / "nowhere"), "stats"], tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "nowhere") in result.stderr and "khuyenhoc init" in result.stderr


def test_faq_drafts_prints_answered_questions_as_yaml_to_paste(tmp_path):
    async def draft() -> None:
        store = await Store.open(tmp_path / "cli.sqlite3")
        try:
            user, _ = await store.users.seen(
                "telegram", "1", chat_id="1", display_name="An", locale="vi"
            )
            ticket = await store.tickets.create(user.id, "Khi nào họp chi hội?", None, None)
            answered = await store.tickets.answer(ticket.id, "Sáng thứ Bảy đầu tháng.", "cli")
            assert answered is not None
            await store.tickets.draft_faq(answered, "cli")
        finally:
            await store.close()

    asyncio.run(draft())
    result = run(["faq-drafts"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == [
        {
            "id": "draft-1",
            "question": {"vi": "Khi nào họp chi hội?", "en": ""},
            "answer": {"vi": "Sáng thứ Bảy đầu tháng.", "en": ""},
            "alternates": {"vi": [], "en": []},
        }
    ]


def test_out_must_be_a_file_and_an_export_is_never_replaced_unasked(tmp_path):
    database = tmp_path / "data" / "khuyenhoc.sqlite3"
    open_database(database)
    env = {"DATABASE_PATH": str(database), "CONTENT_DIR": str(CONTENT)}
    folder = staff(["export", "members", "--out", str(tmp_path)], tmp_path, **env)
    assert folder.returncode == 2 and "là một thư mục" in folder.stderr
    assert "Traceback" not in folder.stderr
    out = tmp_path / "members.csv"
    out.write_text("last week's export")
    kept = staff(["export", "members", "--out", str(out)], tmp_path, **env)
    assert kept.returncode == 2 and "--force" in kept.stderr
    assert out.read_text() == "last week's export"
    replaced = staff(["export", "members", "--out", str(out), "--force"], tmp_path, **env)
    assert replaced.returncode == 0, replaced.stderr
    assert out.read_text(encoding="utf-8-sig").startswith("area_code")


def test_announcements_resend_records_one_for_those_it_missed(tmp_path):
    from bot.records import FAILED, SENT, AudienceFilter, Outcome

    database = tmp_path / "cli.sqlite3"

    async def broadcast_that_missed_one() -> int:
        store = await Store.open(database)
        try:
            for n in (1, 2):
                user, _ = await store.users.seen(
                    "telegram", str(n), chat_id=str(n), display_name=f"M{n}", locale="vi"
                )
                await store.users.update(user.id, consent_at=store.db.now())
            made = await store.announcements.create(
                created_by="cli", text="Họp chi hội", audience=AudienceFilter(), status="scheduled"
            )
            await store.announcements.start_sending(made, [], None)
            claimed = await store.deliveries.claim(store.db.clock(), 10, ["telegram"])
            await store.deliveries.record(
                [
                    Outcome(claimed[0].id, SENT, 1, message_id="7"),
                    Outcome(claimed[1].id, FAILED, 5, "NetworkError: Bad Gateway"),
                ]
            )
            assert await store.announcements.finish_if_done(made.id)
            return made.id
        finally:
            await store.close()

    first = asyncio.run(broadcast_that_missed_one())
    result = run(["announcements", "resend", str(first)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"cho những người #{first} bị lỡ" in result.stdout
    [(audience, text)] = (
        sqlite3.connect(database)
        .execute("SELECT audience, text FROM announcements WHERE id != ?", (first,))
        .fetchall()
    )
    assert AudienceFilter.from_json(audience) == AudienceFilter(missed_from=first)
    assert text == "Họp chi hội"

    unknown = run(["announcements", "resend", "99"], tmp_path)
    assert unknown.returncode == 2 and "Không có thông báo #99" in unknown.stderr
