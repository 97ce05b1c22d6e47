"""Text helpers every channel needs: split long messages cleanly, strip markup, fold accents."""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s+href=\"[^\"]*\")?\s*>")


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` characters, never mid-word.

    Cuts fall, in order of preference, between paragraphs, between lines, after a sentence, then
    between words. Only a single "word" longer than the limit (a URL, say) is cut hard.
    Markup tags are never opened in one chunk and closed in the next because content keeps each
    tag within one line.
    """
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            pos = window.rfind(sep, 0, limit)
            if pos > limit // 3:
                cut = pos + (1 if sep == ". " else 0)
                break
        if cut <= 0:
            cut = window.rfind(" ", 0, limit)
            if cut <= 0:
                cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def plain(text: str) -> str:
    """Markup-free text for channels without HTML: drop our tags, unescape entities."""
    return html.unescape(_TAG.sub("", text))


# Two spellings of the same syllable exist ("Hòa"/"Hoà", "Thủy"/"Thuỷ"); folding removes all tone
# marks and the đ stroke, so both spellings, and unaccented typing, compare equal.
def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of `text` for matching what people type."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.casefold().split())
