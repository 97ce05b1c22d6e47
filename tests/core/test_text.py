import pytest

from bot.core.text import fold, plain, split_text


def test_fold_matches_both_tone_mark_spellings_and_no_accents():
    assert fold("Hòa") == fold("Hoà") == fold("hoa") == "hoa"
    assert fold("Thủy") == fold("Thuỷ") == "thuy"
    assert fold("  Ninh   KIỀU ") == "ninh kieu"
    assert fold("Đông") == "dong"


@pytest.mark.parametrize("limit", [50, 100, 4096])
def test_split_never_cuts_words_and_keeps_all_text(limit):
    words = ["học", "tập", "suốt", "đời,", "gia", "đình."] * 300
    text = " ".join(words) + "\n\n" + "Đoạn hai. " * 50
    chunks = split_text(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    vocabulary = set(text.split())
    for chunk in chunks:
        assert set(chunk.split()) <= vocabulary  # no word was cut in two


def test_split_prefers_paragraphs():
    text = "a" * 30 + "\n\n" + "b" * 30
    assert split_text(text, 40) == ["a" * 30, "b" * 30]


def test_plain_strips_markup_and_entities():
    assert plain('<b>Đậm</b> &amp; <a href="https://x.vn">liên kết</a>') == "Đậm & liên kết"
