"""SMS length as carriers bill it, on known vectors."""

from __future__ import annotations

import pytest

from bot.notifications.sms import SmsEncoding, count_sms, with_signature

HAN = "支"


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", SmsEncoding.GSM7, 0),
        ("a" * 160, SmsEncoding.GSM7, 1),
        ("a" * 161, SmsEncoding.GSM7, 2),
        ("a" * 306, SmsEncoding.GSM7, 2),
        ("a" * 307, SmsEncoding.GSM7, 3),
        ("a" * 459, SmsEncoding.GSM7, 3),
        ("a" * 460, SmsEncoding.GSM7, 4),
        (HAN * 70, SmsEncoding.UCS2, 1),
        (HAN * 71, SmsEncoding.UCS2, 2),
        (HAN * 134, SmsEncoding.UCS2, 2),
        (HAN * 135, SmsEncoding.UCS2, 3),
        # One Chinese character turns a whole Latin text into UCS-2.
        ("a" * 69 + HAN, SmsEncoding.UCS2, 1),
        ("a" * 70 + HAN, SmsEncoding.UCS2, 2),
        # The en dash and curly quotes are not GSM-7 either.
        ("a" * 60 + "–", SmsEncoding.UCS2, 1),
        ("“quoted”", SmsEncoding.UCS2, 1),
        # ¥, £, é and Δ are in the GSM-7 basic table.
        ("¥£éΔ" * 40, SmsEncoding.GSM7, 1),
    ],
)
def test_segments(text: str, encoding: SmsEncoding, segments: int) -> None:
    count = count_sms(text)
    assert (count.encoding, count.segments) == (encoding, segments)
    assert count.characters == len(text)


@pytest.mark.parametrize("char", list("€[]{}\\^~|"))
def test_extension_characters_count_two(char: str) -> None:
    count = count_sms(char * 80)
    assert count.encoding is SmsEncoding.GSM7
    assert count.units == 160 and count.segments == 1
    assert count_sms(char * 80 + "a").segments == 2


def test_an_escape_sequence_is_never_split_across_parts() -> None:
    # 152 plain + € (2 septets) = 154 > 153: the € moves to the second part...
    assert count_sms("a" * 152 + "€" + "a" * 152).segments == 3
    # ...whereas 151 + € fills the first part exactly.
    assert count_sms("a" * 151 + "€" + "a" * 153).segments == 2


def test_emoji_take_two_ucs2_units() -> None:
    count = count_sms("😀" * 35)
    assert count.encoding is SmsEncoding.UCS2 and count.units == 70 and count.segments == 1
    assert count_sms("😀" * 36).segments == 2


def test_signature_is_counted_and_added_once() -> None:
    body = HAN * 64
    signed = with_signature(body, "【某某支付】")
    assert signed.startswith("【某某支付】") and len(signed) == 70
    assert count_sms(signed).segments == 1
    assert count_sms(with_signature(HAN * 65, "【某某支付】")).segments == 2
    assert with_signature(signed, "【某某支付】") == signed
    assert with_signature(body, None) == body


def test_warning_past_three_segments() -> None:
    assert count_sms(HAN * 201).warning is None  # 3 segments
    warning = count_sms(HAN * 202).warning
    assert warning is not None and "4 segments" in warning


def test_describe() -> None:
    assert count_sms(HAN * 80).describe() == "80 characters · 2 segments (UCS-2, 67 per segment)"
    assert count_sms("Hi").describe() == "2 characters · 1 segment (GSM-7, 160 per segment)"
    assert "septets" in count_sms("€").describe()
