"""Content validation: every problem is reported with its file, field path and line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bot.catalog import ContentInvalid, check_content, load_catalog
from tests.conftest import CONTENT, ROOT


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def problems_text(folder: Path) -> list[str]:
    return [str(p) for p in check_content(folder)]


def test_shipped_content_is_sound():
    assert check_content(CONTENT) == []
    catalog = load_catalog(CONTENT)
    assert len(catalog.areas) == 103
    assert {p.id for p in catalog.plans} >= {"qd-387-2022", "qd-677-2022"}
    assert [p.scope for p in catalog.plans][:2] == ["city", "city"]
    assert catalog.campaign.title("gia-dinh-hoc-tap").targets == {2025: 75, 2030: 90}


def test_missing_translation_is_named(content):
    path = content / "locales" / "en.yaml"
    text = path.read_text(encoding="utf-8").replace('  plans: "Plans"\n', "")
    path.write_text(text, encoding="utf-8")
    assert any(
        "locales/en.yaml" in p and "menu.plans: missing translation" in p
        for p in problems_text(content)
    )


def test_non_nfc_text_is_named_with_line(content):
    path = content / "plans" / "qd-387-2022.yaml"
    text = path.read_text(encoding="utf-8")
    decomposed = unicodedata.normalize("NFD", "Quyết")
    path.write_text(text.replace("Quyết", decomposed, 1), encoding="utf-8")
    found = [p for p in check_content(content) if "NFC" in p.message]
    assert found and found[0].file == "content/plans/qd-387-2022.yaml" and found[0].line


def test_unknown_reference_and_bad_id(content):
    path = content / "plans" / "can-tho-hoc-tap-suot-doi.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("implements: qd-387-2022", "implements: qd-999")
    text = text.replace("title_id: gia-dinh-hoc-tap", "title_id: gia-dinh-hoc-choi", 1)
    path.write_text(text, encoding="utf-8")
    found = problems_text(content)
    assert any("implements: unknown plan 'qd-999'" in p for p in found), found
    assert any("title_id: unknown title 'gia-dinh-hoc-choi'" in p for p in found), found


def test_id_too_long_for_button_data(content):
    src = content / "plans" / "qd-677-2022.yaml"
    long_id = "ke-hoach-co-ten-rat-rat-rat-dai"
    dst = content / "plans" / f"{long_id}.yaml"
    dst.write_text(
        src.read_text(encoding="utf-8").replace("id: qd-677-2022", f"id: {long_id}"),
        encoding="utf-8",
    )
    src.unlink()
    assert any("64 bytes" in p for p in problems_text(content))


def test_message_longer_than_telegram_allows(content):
    path = content / "locales" / "vi.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('  plans: "Xem kế hoạch"', '  plans: "' + "dài " * 1100 + '"')
    path.write_text(text, encoding="utf-8")
    assert any("menu.plans: longer than Telegram's 4096" in p for p in problems_text(content))


def test_broken_yaml_names_the_line(content):
    path = content / "campaign.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nroles: [unclosed\n", encoding="utf-8")
    found = check_content(content)
    assert found[0].file == "content/campaign.yaml" and found[0].line
    with pytest.raises(ContentInvalid, match="campaign.yaml"):
        load_catalog(content)


def test_broken_yaml_is_quoted_with_a_caret(content):
    """Parsed by libyaml when there, yet the error is the pure-Python parser's: it shows where."""
    path = content / "campaign.yaml"
    path.write_text("association: [unclosed\ncity: x\n", encoding="utf-8")
    problem = check_content(content)[0]
    assert problem.line == 2 and problem.message.startswith("not valid YAML")
    assert "association: [unclosed" in problem.message and "^" in problem.message


def test_placeholder_mismatch_and_bad_areas(content):
    path = content / "locales" / "en.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Welcome back, {name}!", "Welcome back!"),
        encoding="utf-8",
    )
    areas = content / "areas.csv"
    areas.write_text(areas.read_text(encoding="utf-8") + "123,Nơi nào đó,thon\n", encoding="utf-8")
    found = problems_text(content)
    assert any("start.welcome_back: placeholders differ" in p for p in found), found
    assert any("content/areas.csv:105" in p and "code" in p for p in found), found
    assert any("must be phuong or xa" in p for p in found), found


def test_content_check_command_exit_codes(content):
    cli = [sys.executable, "-m", "bot", "content", "check"]
    ok = subprocess.run([*cli, str(CONTENT)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (content / "plans" / "qd-387-2022.yaml").write_text(
        "id: qd-387-2022\nscope: galaxy\n", encoding="utf-8"
    )
    bad = subprocess.run([*cli, str(content)], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1
    assert "content/plans/qd-387-2022.yaml:2: scope: must be 'city' or 'national'" in bad.stdout
    assert "content/plans/qd-387-2022.yaml" in bad.stdout and "title: missing" in bad.stdout


def test_broken_assessment_definitions_are_rejected(content):
    path = content / "assessments" / "gia-dinh-hoc-tap.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("min_points: 30", "min_points: 300", 1)  # can never be met
    text = text.replace("max_points: 30", "max_points: 35", 1)  # points do not add up
    path.write_text(text, encoding="utf-8")
    quiz = content / "quizzes" / "quiz-qd-387.yaml"
    quiz.write_text(
        quiz.read_text(encoding="utf-8").replace("correct: true", "correct: false", 1),
        encoding="utf-8",
    )
    found = problems_text(content)
    assert any(
        "gia-dinh-hoc-tap.yaml" in p and "min_points: 300 can never be met" in p for p in found
    ), found
    assert any("max_points: is 35 but the best options add up to 30" in p for p in found), found
    assert any(
        "quiz-qd-387.yaml" in p and "exactly one option must have correct" in p for p in found
    ), found


def test_repeated_ids_and_unknown_references_in_assessments(content):
    path = content / "assessments" / "dong-ho-hoc-tap.yaml"
    text = path.read_text(encoding="utf-8")
    first_qid = next(
        line.split("id:")[1].strip()
        for line in text.splitlines()
        if line.strip().startswith("- id:")
        and "questions" not in line
        and line.startswith("      - id:")
    )
    text = text.replace("title_id: dong-ho-hoc-tap", "title_id: lang-hoc-tap")
    text = text.replace("      - id:", f"      - id: {first_qid}\n        x_old_id:", 2)
    path.write_text(text, encoding="utf-8")
    found = problems_text(content)
    assert any("title_id: unknown title 'lang-hoc-tap'" in p for p in found), found
    assert any(f"id {first_qid!r} is used twice in this file" in p for p in found), found


def test_rule_that_cannot_be_met_overall(content):
    path = content / "assessments" / "cong-dan-hoc-tap.yaml"
    text = path.read_text(encoding="utf-8").replace("min_total: 80", "min_total: 180")
    text = text.replace("min_each_question: 5", "min_each_question: 15")
    path.write_text(text, encoding="utf-8")
    found = problems_text(content)
    assert any("overall.min_total: 180 can never be met" in p for p in found), found
    assert any("overall.min_each_question" in p and "< 15" in p for p in found), found
