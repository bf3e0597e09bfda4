"""Rules for text from outside (webhooks, Slack forms) that every adapter shares.

- *Blank* means nothing a reader can see. Besides whitespace, format and control characters
  (U+200B zero width space, U+200D zero width joiner, U+202E right-to-left override, U+2066
  left-to-right isolate, ...) and the Hangul and Braille fillers render as nothing, so a
  title made only of them is blank, however long it is.
- *Unstorable* characters are NUL (PostgreSQL's text and JSON types cannot hold U+0000)
  and lone surrogates (``"\\ud800"`` in JSON: not encodable as UTF-8, so neither database
  takes them). An adapter either rejects them, naming the field, or scrubs them.
- A key longer than its column becomes a *bounded key*: a readable prefix and the SHA-256
  of the whole key, so the same long key always maps to the same stored key and two
  different long keys never collide in practice.
"""

from __future__ import annotations

import hashlib
import unicodedata

# Unicode categories that draw nothing: controls, format characters, surrogates, spaces.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# Letters and symbols that are blank by design (Hangul fillers, the Braille blank).
_INVISIBLE_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_DIGEST_PREFIX = "…sha256:"
_DIGEST_LENGTH = len(_DIGEST_PREFIX) + 64


def _invisible(char: str) -> bool:
    return (
        char.isspace()
        or char in _INVISIBLE_CHARACTERS
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
    )


def is_blank(text: str | None) -> bool:
    """True when ``text`` shows nothing: empty, spaces, or only invisible characters."""
    return not text or all(_invisible(char) for char in text)


def unstorable_character(text: str) -> str | None:
    """A description of the first character no database can store, or None."""
    for char in text:
        if char == "\x00":
            return "NUL (\\u0000)"
        if "\ud800" <= char <= "\udfff":
            return f"a lone surrogate (\\u{ord(char):04x})"
    return None


def scrub(text: str) -> str:
    """``text`` without NUL, lone surrogates replaced by U+FFFD: storable everywhere."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if any("\ud800" <= char <= "\udfff" for char in text):
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def bounded_key(key: str, limit: int) -> str:
    """``key`` itself when it fits in ``limit`` characters, else a prefix and its digest.

    Stable (the same key always gives the same result) so deduplication and grouping keep
    working for keys longer than the column.
    """
    if limit <= _DIGEST_LENGTH:
        raise ValueError(f"a bounded key needs more than {_DIGEST_LENGTH} characters")
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key[: limit - _DIGEST_LENGTH] + _DIGEST_PREFIX + digest
