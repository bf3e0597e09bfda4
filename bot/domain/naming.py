"""Incident channel names: ``oor-42-payment-failure-alipay-channel-blocked``.

Slack channel names are at most 80 characters of lowercase letters, digits, ``-`` and ``_``.
Titles come from alerts and people, in English, Chinese or anything else, so the slug is
built defensively: Chinese becomes pinyin (支付宝 -> ``zhi-fu-bao``), accents are folded
(café -> ``cafe``), and whatever cannot be spelled in ASCII (emoji, other scripts) is dropped.
The result is never empty and never invalid: at worst it is ``oor-42-system-crash``.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.types import OorType

MAX_CHANNEL_NAME = 80

_WORD = re.compile(r"[a-z0-9]+")
# Apostrophes join rather than split: "Don't retry" -> "dont-retry", not "don-t-retry".
_APOSTROPHES = str.maketrans("", "", "'’‘`´")
# CJK Unified Ideographs (basic block, extensions A to F) and compatibility ideographs; only
# titles that contain one pay the cost of importing pypinyin and its dictionary.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")


def incident_channel_name(number: int, oor_type: OorType, title: str, attempt: int = 0) -> str:
    """``oor-<number>-<type>-<slug of title>``, at most 80 characters.

    ``attempt`` > 0 gives the deterministic alternative used when the name is taken by a
    channel the bot does not own: attempt 1 -> ``…-2``, attempt 2 -> ``…-3``. The suffix is
    kept within the limit by shortening the slug, never by cutting the suffix.
    """
    if number < 0:
        raise ValueError(f"incident number must not be negative, got {number}")
    if attempt < 0:
        raise ValueError(f"attempt must not be negative, got {attempt}")
    prefix = f"oor-{number}-{OorType(oor_type).value.replace('_', '-')}"
    suffix = f"-{attempt + 1}" if attempt else ""
    # The slug gets what is left after the prefix, its joining "-" and the suffix.
    slug = slugify(title, MAX_CHANNEL_NAME - len(prefix) - len(suffix) - 1)
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"


def slugify(text: str, max_len: int) -> str:
    """Lowercase ASCII words joined by ``-``, at most ``max_len`` characters; may be empty.

    Cuts at a word boundary when that keeps at least half of the room; otherwise (one very
    long word, e.g. a pasted URL or order id) cuts mid-word so the slug still says something.
    Underscores count as separators, so the slug only ever contains ``a-z``, ``0-9`` and ``-``.
    """
    if max_len <= 0:
        return ""
    words = _words(text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            break
        slug = candidate
    else:
        return slug
    if len(slug) * 2 < max_len:
        slug = "-".join(words)[:max_len].rstrip("-")
    return slug


def _words(text: str) -> list[str]:
    pieces = [text]
    if _HAN.search(text):
        from pypinyin import lazy_pinyin  # slow import (~0.1 s), only for Chinese titles

        # Each Han character becomes one syllable; runs of other text pass through unchanged.
        # One syllable per word ("zhi-fu-bao") stays readable without a word segmenter.
        pieces = lazy_pinyin(text)
    words: list[str] = []
    for piece in pieces:
        # NFKD splits accents off letters (é -> e + ◌́) and maps full-width and compatibility
        # forms to ASCII (Ａ -> A, ﬁ -> fi); casefold handles ß -> ss. The ASCII filter then
        # drops the accents and anything without an ASCII spelling.
        folded = unicodedata.normalize("NFKD", piece.casefold()).translate(_APOSTROPHES)
        words += _WORD.findall(folded.encode("ascii", "ignore").decode("ascii"))
    return words
