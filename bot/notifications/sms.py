"""How long an SMS is, the way carriers bill it: characters, encoding and segments.

Pure functions, no I/O. The rules (3GPP TS 23.038 / 23.040):

- A text made only of GSM 03.38 characters is sent as GSM-7: 160 septets in a single
  message, 153 per part once it must be split (the user data header takes the rest).
  Characters of the GSM-7 *extension table* (``€ [ ] { } \\ ^ ~ |`` and form feed) are
  sent as an escape plus the character, so they count as 2.
- Any other character (Chinese, ``—``, curly quotes, emoji) switches the whole message
  to UCS-2: 70 UTF-16 code units single, 67 per part. Characters outside the Basic
  Multilingual Plane (most emoji) take two code units.
- A part never ends in the middle of an escape sequence or a surrogate pair, so the
  segment count comes from filling parts greedily rather than from a division.

Chinese carriers require the sender's signature (短信签名, e.g. ``【某某支付】``) on the
message; it is part of what is counted, so callers count the text *with* it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# Past this many parts, delivery gets expensive and some handsets show the parts apart.
WARN_ABOVE_SEGMENTS = 3


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SmsCount:
    characters: int  # as a person counts them (code points)
    units: int  # what the carrier counts: septets (GSM-7) or UTF-16 code units (UCS-2)
    encoding: SmsEncoding
    segments: int

    @property
    def single_limit(self) -> int:
        return GSM7_SINGLE if self.encoding is SmsEncoding.GSM7 else UCS2_SINGLE

    @property
    def part_limit(self) -> int:
        return GSM7_PART if self.encoding is SmsEncoding.GSM7 else UCS2_PART

    @property
    def warning(self) -> str | None:
        if self.segments <= WARN_ABOVE_SEGMENTS:
            return None
        return (
            f"{self.segments} segments: more than {WARN_ABOVE_SEGMENTS}. Each segment is billed "
            "and long messages may arrive split; consider shortening it."
        )

    def describe(self) -> str:
        """``87 characters · 2 segments (UCS-2, 67 per segment)``."""
        noun = "segment" if self.segments == 1 else "segments"
        limit = self.single_limit if self.segments <= 1 else self.part_limit
        text = (
            f"{self.characters} characters · {self.segments} {noun} "
            f"({self.encoding.value}, {limit} per segment)"
        )
        if self.units != self.characters:
            text += f" · {self.units} {'septets' if self.is_gsm7 else 'code units'}"
        return text

    @property
    def is_gsm7(self) -> bool:
        return self.encoding is SmsEncoding.GSM7


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_sizes(text: str, encoding: SmsEncoding) -> list[int]:
    """How many units each character takes; the parts are filled with whole characters."""
    if encoding is SmsEncoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _segments(sizes: list[int], single: int, part: int) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:  # never split an escape sequence or a surrogate pair
            segments += 1
            used = 0
        used += size
    return segments


def count_sms(text: str) -> SmsCount:
    """Count ``text`` exactly as it will be sent (signature included)."""
    encoding = SmsEncoding.GSM7 if is_gsm7(text) else SmsEncoding.UCS2
    sizes = _unit_sizes(text, encoding)
    if encoding is SmsEncoding.GSM7:
        segments = _segments(sizes, GSM7_SINGLE, GSM7_PART)
    else:
        segments = _segments(sizes, UCS2_SINGLE, UCS2_PART)
    return SmsCount(characters=len(text), units=sum(sizes), encoding=encoding, segments=segments)


def with_signature(text: str, signature: str | None) -> str:
    """Put the carrier-required signature in front, once (an edited text may keep it)."""
    text = text.strip()
    if not signature or text.startswith(signature):
        return text
    return signature + text
