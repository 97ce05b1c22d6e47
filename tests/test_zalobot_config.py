"""The Zalo Bot Platform settings: each mistake is one line naming the variable."""

import pytest

from bot.config import ConfigError, Settings


def test_a_zalo_bot_token_and_a_webhook():
    settings = Settings.from_mapping(
        {
            "ZALO_BOT_TOKEN": "1459232241454765289:abc-XYZ_1",
            "ZALO_BOT_WEBHOOK_URL": "https://bot.example.org/zalobot",
            "ZALO_BOT_WEBHOOK_SECRET": "s3cret-s3cret",
            "PUBLIC_BASE_URL": "https://bot.example.org/",
        }
    )
    assert settings.zalo_bot_token.startswith("1459232241454765289:")
    assert settings.public_base_url == "https://bot.example.org"
    assert settings.zalo_bot_rate == 5.0  # conservative until measured
    assert {"1459232241454765289:abc-XYZ_1", "s3cret-s3cret"} <= set(settings.secrets())
    assert Settings.from_mapping({}).zalo_bot_token is None  # the channel is optional


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ZALO_BOT_TOKEN": "not-a-token"}, "ZALO_BOT_TOKEN"),
        ({"ZALO_BOT_TOKEN": "abc:def"}, "ZALO_BOT_TOKEN"),
        (
            {"ZALO_BOT_WEBHOOK_URL": "http://x/zb", "ZALO_BOT_WEBHOOK_SECRET": "12345678"},
            "ZALO_BOT_WEBHOOK_URL",
        ),
        ({"ZALO_BOT_WEBHOOK_URL": "https://x/zb"}, "ZALO_BOT_WEBHOOK_SECRET"),
        (
            {"ZALO_BOT_WEBHOOK_URL": "https://x/zb", "ZALO_BOT_WEBHOOK_SECRET": "1234567"},
            "ZALO_BOT_WEBHOOK_SECRET",
        ),
        (
            {"ZALO_BOT_WEBHOOK_URL": "https://x/zb", "ZALO_BOT_WEBHOOK_SECRET": "x" * 257},
            "ZALO_BOT_WEBHOOK_SECRET",
        ),
        ({"ZALO_BOT_RATE": "0"}, "ZALO_BOT_RATE"),
        ({"PUBLIC_BASE_URL": "bot.example.org"}, "PUBLIC_BASE_URL"),
    ],
)
def test_a_mistake_names_the_variable(env, variable):
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping(env)
    assert refused.value.variable == variable and "\n" not in str(refused.value)
    assert "def" not in str(refused.value)  # a token's secret is never repeated
