from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from tests.conftest import CONTENT


def env(**values):
    return {"CONTENT_DIR": str(CONTENT), **values}


def test_defaults():
    s = Settings.from_mapping(env())
    assert s.telegram_bot_token is None
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.database_path == Path.cwd() / "data" / "khuyenhoc.sqlite3"
    assert s.timezone.key == "Asia/Ho_Chi_Minh"


def test_values_are_parsed():
    s = Settings.from_mapping(
        env(
            TELEGRAM_BOT_TOKEN="123:abc",
            ADMIN_IDS="1, 22,333",
            LOG_LEVEL="debug",
            TELEGRAM_API_URL="http://127.0.0.1:8081/bot",
        )
    )
    assert s.admin_ids == {1, 22, 333}
    assert s.log_level == "DEBUG"
    assert s.telegram_api_url == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ADMIN_IDS", "12,abc"),
        ("ADMIN_IDS", "²"),
        ("WEBHOOK_PORT", "inf"),
        ("WEBHOOK_PORT", "0.5"),
        ("WEBHOOK_PORT", "70000"),
        ("BACKUP_KEEP", "nan"),
        ("CHAT_RATE", "nan"),
        ("BROADCAST_RATE", "inf"),
        ("DELIVERY_RETENTION_DAYS", "1e3"),
        ("ANNOUNCE_CHAT_ID", "-²"),
        ("TIMEZONE", "Mars/Olympus"),
        ("LOG_LEVEL", "LOUD"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("CONTENT_DIR", "/no/such/dir"),
    ],
)
def test_bad_values_name_the_variable(variable, value):
    with pytest.raises(ConfigError) as err:
        Settings.from_mapping(env(**{variable: value}))
    assert err.value.variable == variable and variable in str(err.value)


def test_env_file_is_read_and_environment_wins(tmp_path):
    file = tmp_path / ".env"
    file.write_text(f"ADMIN_IDS=5\nLOG_LEVEL=WARNING\nCONTENT_DIR={CONTENT}\n")
    s = Settings.load({"LOG_LEVEL": "ERROR"}, env_file=file)
    assert s.admin_ids == {5} and s.log_level == "ERROR"


# The home folder: every relative path in the settings is resolved against it, wherever the
# command is typed.


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home with a .env of relative paths, and the current folder somewhere else."""
    folder = tmp_path / "home"
    (folder / "content").mkdir(parents=True)
    (folder / ".env").write_text(
        "DATABASE_PATH=data/bot.sqlite3\nBACKUP_DIR=backups\nCONTENT_DIR=content\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def test_relative_paths_resolve_against_the_given_home(home):
    s = Settings.load({}, home=home)
    assert s.home == home
    assert s.database_path == home / "data" / "bot.sqlite3"
    assert s.backup_dir == home / "backups"
    assert s.content_dir == home / "content"


def test_home_from_KHUYENHOC_HOME(home):
    s = Settings.load({"KHUYENHOC_HOME": str(home)})
    assert s.database_path == home / "data" / "bot.sqlite3"


def test_home_is_the_folder_holding_env_found_from_a_subfolder(home, monkeypatch):
    deeper = home / "content" / "plans"
    deeper.mkdir()
    monkeypatch.chdir(deeper)
    s = Settings.load({})
    assert s.home == home and s.database_path == home / "data" / "bot.sqlite3"


def test_without_a_home_the_current_folder_is_the_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.load({"CONTENT_DIR": str(CONTENT)})
    assert s.home == tmp_path
    assert s.database_path == tmp_path / "data" / "khuyenhoc.sqlite3"


def test_content_shipped_with_the_code_when_the_home_has_none(tmp_path):
    s = Settings.load({}, home=tmp_path)
    assert s.content_dir == CONTENT


def test_absolute_paths_are_kept(home, tmp_path):
    s = Settings.load({"DATABASE_PATH": str(tmp_path / "x.sqlite3")}, home=home)
    assert s.database_path == tmp_path / "x.sqlite3"


def test_a_home_that_is_not_a_folder_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        Settings.load({"KHUYENHOC_HOME": str(tmp_path / "missing")})
    assert err.value.variable == "KHUYENHOC_HOME" and "missing" in str(err.value)
