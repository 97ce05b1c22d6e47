"""The `khuyenhoc` command as a person runs it."""

import asyncio
import os
import subprocess
import sys

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
    script = "/start\n1\n1\n2\nninh kieu\n1\n1\n1\n/mydata\n"
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
