"""Answer quality for typed questions, on two held-back sets written apart from the content:

- tests/faq_questions.yaml: questions the content answers (with and without diacritics, with
  typos): top-1 and top-3 accuracy of the ranking. Goals: faq_top1 >= 0.8, faq_top3 >= 0.95.
- tests/faq_offtopic.yaml: questions the content does not answer (relief, papers, health...):
  the share answered directly as if the bot knew. Goal: faq_offtopic_answered <= 0.05.

Not a timing benchmark: it may be run on its own (`python -m bench bench_faq`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.catalog import load_catalog
from bot.services.ask import Answerer

ROOT = Path(__file__).resolve().parent.parent

GOALS = {"faq_top1": ">= 0.8", "faq_top3": ">= 0.95", "faq_offtopic_answered": "<= 0.05"}
_how = "python -m bench bench_faq (the ranking of bot/services/ask.py on tests/faq_*.yaml)"
HOW = dict.fromkeys(GOALS, _how)


def _held_back(name: str) -> list:
    return yaml.safe_load((ROOT / "tests" / name).read_text(encoding="utf-8"))["questions"]


async def run() -> dict[str, float]:
    answerer = Answerer(load_catalog(ROOT / "content"))
    questions = _held_back("faq_questions.yaml")
    top1 = top3 = direct = 0
    for item in questions:
        ranking = answerer.rank(item["q"])
        keys = [m.key for m in ranking.matches]
        top1 += keys[:1] == [item["expect"]]
        top3 += item["expect"] in keys[:3]
        direct += ranking.confident is not None
    off_topic = _held_back("faq_offtopic.yaml")
    answered = sum(answerer.rank(q).confident is not None for q in off_topic)
    return {
        "faq_questions": float(len(questions)),
        "faq_top1": top1 / len(questions),
        "faq_top3": top3 / len(questions),
        "faq_answered_directly": direct / len(questions),
        "faq_offtopic_questions": float(len(off_topic)),
        "faq_offtopic_answered": answered / len(off_topic),
    }
