"""Incident channel names: always valid Slack names, readable when the title allows."""

from __future__ import annotations

import random
import re

import pytest

from bot.domain.naming import MAX_CHANNEL_NAME, incident_channel_name, slugify
from bot.domain.types import OorType

VALID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def assert_valid(name: str) -> None:
    assert VALID.match(name), name
    assert not name.endswith("-"), name
    assert "--" not in name, name


@pytest.mark.parametrize(
    ("oor_type", "title", "expected"),
    [
        (
            OorType.PAYMENT_FAILURE,
            "Alipay channel blocked!",
            "oor-42-payment-failure-alipay-channel-blocked",
        ),
        (OorType.SYSTEM_CRASH, "", "oor-42-system-crash"),
        (OorType.AMOUNT_ERROR, "AMOUNT Above MAXIMUM", "oor-42-amount-error-amount-above-maximum"),
        (OorType.SYSTEM_CRASH, "  DB -- down!!! (again?) ", "oor-42-system-crash-db-down-again"),
        (
            OorType.SYSTEM_CRASH,
            "order_id=123; don't retry",
            "oor-42-system-crash-order-id-123-dont-retry",
        ),
        (
            OorType.PAYMENT_FAILURE,
            "Échec du paiement — café",
            "oor-42-payment-failure-echec-du-paiement-cafe",
        ),
        (
            OorType.PAYMENT_FAILURE,
            "Ｆｕｌｌｗｉｄｔｈ ﬁx Straße",
            "oor-42-payment-failure-fullwidth-fix-strasse",
        ),
        (
            OorType.PAYMENT_FAILURE,
            "支付宝通道被封",
            "oor-42-payment-failure-zhi-fu-bao-tong-dao-bei-feng",
        ),
        (
            OorType.TRANSACTION_INTERRUPTION,
            "微信支付WeChat Pay交易中断！",
            "oor-42-transaction-interruption-wei-xin-zhi-fu-wechat-pay-jiao-yi-zhong-duan",
        ),
        (OorType.SYSTEM_CRASH, "🔥🔥💥", "oor-42-system-crash"),
        (OorType.SYSTEM_CRASH, "Платёж не прошёл", "oor-42-system-crash"),
        (OorType.SYSTEM_CRASH, "!!! ??? ---", "oor-42-system-crash"),
        (OorType.SYSTEM_CRASH, "💥 Gateway 502 💥", "oor-42-system-crash-gateway-502"),
    ],
)
def test_examples(oor_type: OorType, title: str, expected: str) -> None:
    assert incident_channel_name(42, oor_type, title) == expected
    assert_valid(expected)


def test_long_title_is_cut_at_a_word_boundary() -> None:
    title = "Alipay channel blocked for all merchants in the eastern region since the 10:00 deploy"
    name = incident_channel_name(12345, OorType.TRANSACTION_INTERRUPTION, title)
    assert name == "oor-12345-transaction-interruption-alipay-channel-blocked-for-all-merchants-in"
    assert len(name) <= MAX_CHANNEL_NAME
    assert_valid(name)


def test_one_huge_word_is_cut_mid_word() -> None:
    name = incident_channel_name(7, OorType.AMOUNT_ERROR, "x" * 500)
    assert name == "oor-7-amount-error-" + "x" * (MAX_CHANNEL_NAME - len("oor-7-amount-error-"))
    assert len(name) == MAX_CHANNEL_NAME


def test_long_chinese_title_stays_within_the_limit() -> None:
    name = incident_channel_name(
        42, OorType.PAYMENT_FAILURE, "支付宝通道被封导致大量商户无法收款" * 3
    )
    assert name.startswith("oor-42-payment-failure-zhi-fu-bao-tong-dao-bei-feng-dao-zhi")
    assert len(name) <= MAX_CHANNEL_NAME
    assert_valid(name)


def test_attempts_add_a_numbered_suffix() -> None:
    title = "Alipay channel blocked"
    names = [incident_channel_name(42, OorType.PAYMENT_FAILURE, title, attempt=a) for a in range(4)]
    assert names == [
        "oor-42-payment-failure-alipay-channel-blocked",
        "oor-42-payment-failure-alipay-channel-blocked-2",
        "oor-42-payment-failure-alipay-channel-blocked-3",
        "oor-42-payment-failure-alipay-channel-blocked-4",
    ]
    assert (
        incident_channel_name(42, OorType.SYSTEM_CRASH, "🔥", attempt=1) == "oor-42-system-crash-2"
    )
    # Deterministic: the same attempt gives the same name.
    assert incident_channel_name(42, OorType.PAYMENT_FAILURE, title, attempt=2) == names[2]


def test_attempt_suffix_fits_within_the_limit_by_shortening_the_slug() -> None:
    title = "word " * 40
    for attempt in (0, 1, 9, 99, 999):
        name = incident_channel_name(987654, OorType.TRANSACTION_INTERRUPTION, title, attempt)
        assert len(name) <= MAX_CHANNEL_NAME
        assert_valid(name)
        if attempt:
            assert name.endswith(f"-word-{attempt + 1}")


def test_negative_inputs_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        incident_channel_name(-1, OorType.SYSTEM_CRASH, "x")
    with pytest.raises(ValueError):
        incident_channel_name(1, OorType.SYSTEM_CRASH, "x", attempt=-1)


def test_slugify() -> None:
    assert slugify("Hello, World!", 80) == "hello-world"
    assert slugify("Hello, World!", 8) == "hello"
    assert slugify("Hello, World!", 0) == ""
    assert slugify("snake_case_words", 80) == "snake-case-words"
    assert slugify("🔥", 10) == ""
    assert slugify("金额错误", 80) == "jin-e-cuo-wu"


def _random_text(rng: random.Random) -> str:
    # Weighted towards the hard cases: CJK, emoji, accents and combining marks, punctuation.
    ranges = [
        (0x20, 0x7E),  # ASCII
        (0x00C0, 0x024F),  # Latin with accents
        (0x0300, 0x036F),  # combining marks
        (0x0400, 0x04FF),  # Cyrillic
        (0x3000, 0x303F),  # CJK punctuation
        (0x4E00, 0x9FFF),  # CJK ideographs
        (0xFF00, 0xFFEF),  # full-width forms
        (0x1F300, 0x1FAFF),  # emoji
        (0x0, 0x10FFFF),  # anything at all
    ]
    chars = []
    for _ in range(rng.randint(0, 120)):
        low, high = rng.choice(ranges)
        code = rng.randint(low, high)
        if 0xD800 <= code <= 0xDFFF:  # lone surrogates cannot come from Slack or JSON
            code = 0x20
        chars.append(chr(code))
    return "".join(chars)


def test_any_title_gives_a_valid_name() -> None:
    rng = random.Random(20240501)
    for _ in range(1500):
        number = rng.choice([0, 1, 42, 99999, 10**9])
        name = incident_channel_name(
            number, rng.choice(list(OorType)), _random_text(rng), attempt=rng.choice([0, 0, 1, 7])
        )
        assert VALID.match(name), name
        assert not name.endswith("-"), name
        assert "--" not in name, name
