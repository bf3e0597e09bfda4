"""Blank text, unstorable characters and bounded keys: the rules every adapter shares."""

from __future__ import annotations

import pytest

from bot.domain.outside_text import bounded_key, is_blank, scrub, unstorable_character


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "\u202e",
        "\u200b",
        "\u200d",
        "\u2066\u2069",
        "\u00a0\u3000",
        "\u3164",
        "\u2800",
        "\ufeff",
        "\t\n\u200c\u2060",
    ],
)
def test_blank_means_nothing_visible(text: str | None) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", "\u200ba", "支付", "👍", "\u0301e", "·"])
def test_anything_visible_is_not_blank(text: str) -> None:
    assert not is_blank(text)


def test_unstorable_characters_are_named_and_scrubbed() -> None:
    assert unstorable_character("fine 支付 👍") is None
    assert unstorable_character("a\x00b") == "NUL (\\u0000)"
    assert unstorable_character("a\ud800") == "a lone surrogate (\\ud800)"
    assert scrub("a\x00b\udfffc") == "ab\ufffdc"
    assert scrub("plain") == "plain"


def test_a_key_that_fits_is_kept_and_a_longer_one_is_stable_and_bounded() -> None:
    assert bounded_key("k" * 200, 200) == "k" * 200
    long = "g" * 459
    key = bounded_key(long, 200)
    assert len(key) == 200 and key.startswith("g" * 100) and "…sha256:" in key
    assert bounded_key(long, 200) == key
    assert bounded_key(long[:-1] + "h", 200) != key
    with pytest.raises(ValueError):
        bounded_key(long, 50)
