import re
from datetime import date
from pathlib import Path

from bot.catalog.i18n import Translator

ROOT = Path(__file__).resolve().parents[2]


def test_numbers_and_dates_in_vietnamese_and_english(app):
    t = Translator(app.catalog)
    assert t.number("vi", 1234) == "1.234"
    assert t.number("vi", 68.5, 1) == "68,5"
    assert t.percent("vi", 68.5) == "68,5%"
    assert t.number("en", 1234) == "1,234"
    assert t.date("vi", date(2026, 10, 1)) == "Thứ Năm, 01/10/2026"
    assert t.date("en", date(2026, 10, 4)) == "Sunday, 04/10/2026"


def test_values_are_escaped(app):
    t = Translator(app.catalog)
    assert "&lt;b&gt;" in t.t("vi", "start.welcome_back", name="<b>")


def test_locale_for_new_members(app):
    t = Translator(app.catalog)
    assert t.locale_for("en-GB") == "en"
    assert t.locale_for("fr") == "vi"
    assert t.locale_for(None) == "vi"


def test_every_ui_key_used_in_code_exists(app):
    """A key the code asks for but content lacks would crash a conversation."""
    pattern = re.compile(r"""(?:\.t|button)\(\s*f?["']([a-z_]+(?:\.[a-z_{}.]+)+)["']""")
    keys = set()
    for file in [*ROOT.joinpath("handlers").glob("*.py"), *ROOT.joinpath("bot").rglob("*.py")]:
        keys |= set(pattern.findall(file.read_text(encoding="utf-8")))
    assert len(keys) > 30
    strings = app.catalog.locales.strings
    for key in keys:
        if "{" in key or key.endswith("."):  # built keys: the static prefix must have entries
            prefix = key.split("{")[0]
            assert any(k.startswith(prefix) for k in strings["vi"]), key
            continue
        for locale in ("vi", "en"):
            assert key in strings[locale], f"{key} missing in {locale}.yaml"
