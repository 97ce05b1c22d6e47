import pytest

from bot.config import ConfigError, Settings
from tests.conftest import CONTENT


def env(**values):
    return {"CONTENT_DIR": str(CONTENT), **values}


def test_defaults():
    s = Settings.from_mapping(env())
    assert s.telegram_bot_token is None
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert str(s.database_path) == "data/khuyenhoc.sqlite3"
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
