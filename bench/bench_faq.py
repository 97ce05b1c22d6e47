"""Answer quality for typed questions: top-1 and top-3 accuracy of the ranking on the held-back
set in tests/faq_questions.yaml (questions written apart from the FAQ, with and without
diacritics, with typos). Goals: faq_top1 >= 0.8, faq_top3 >= 0.95."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.catalog import load_catalog
from bot.services.ask import Answerer

ROOT = Path(__file__).resolve().parent.parent


async def run() -> dict[str, float]:
    answerer = Answerer(load_catalog(ROOT / "content"))
    held_back = yaml.safe_load((ROOT / "tests" / "faq_questions.yaml").read_text(encoding="utf-8"))
    questions = held_back["questions"]
    top1 = top3 = 0
    for item in questions:
        keys = [m.key for m in answerer.rank(item["q"]).matches]
        top1 += keys[:1] == [item["expect"]]
        top3 += item["expect"] in keys[:3]
    return {
        "faq_questions": float(len(questions)),
        "faq_top1": top1 / len(questions),
        "faq_top3": top3 / len(questions),
    }
