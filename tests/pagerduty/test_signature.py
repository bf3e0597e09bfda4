"""Webhooks v3 signatures (NOTES.md "Webhooks v3": `X-PagerDuty-Signature`, `v1=` hex
HMAC-SHA256 of the raw body, several values during rotation, any match accepts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.pagerduty.signature import (
    InvalidSignature,
    MalformedSignature,
    check,
    digest,
    sign,
    signature_values,
    verify,
)

VECTOR_DIR = Path(__file__).parents[1] / "fixtures" / "pagerduty" / "webhook-v3-signature-vector"
VECTOR = json.loads((VECTOR_DIR / "vector.json").read_text())
SECRET: str = VECTOR["secret"]
BODY: bytes = VECTOR["body"].encode()
VALID: str = VECTOR["valid_header"]


def test_vector_is_the_one_in_the_apache_licensed_go_test() -> None:
    """Provenance: vector.json holds exactly the Go test's constants (Apache-2.0)."""
    go = (VECTOR_DIR / "webhookv3_test.go").read_text()
    for value in VECTOR.values():
        assert value in go
    assert "Apache License" in (VECTOR_DIR / "LICENSE.txt").read_text()


def test_known_answer_vector_verifies() -> None:
    """Golden vector: secret + body give the expected header, and it verifies."""
    assert sign(BODY, SECRET) == VALID
    assert digest(BODY, SECRET) == VALID.removeprefix("v1=")
    assert verify(BODY, VALID, SECRET)
    check(BODY, VALID, SECRET)


def test_known_answer_mismatch_is_refused() -> None:
    """Golden vector's "mismatch" case: a well-formed but wrong value."""
    assert not verify(BODY, VECTOR["mismatch_header"], SECRET)
    with pytest.raises(InvalidSignature):
        check(BODY, VECTOR["mismatch_header"], SECRET)


@pytest.mark.parametrize("index", [0, len(BODY) // 2, len(BODY) - 1])
def test_one_flipped_byte_in_the_body_fails(index: int) -> None:
    """The HMAC covers every byte of the raw body."""
    body = bytearray(BODY)
    body[index] ^= 0x01
    assert not verify(bytes(body), VALID, SECRET)


def test_one_flipped_byte_in_the_signature_fails() -> None:
    flipped = VALID[:-1] + ("0" if VALID[-1] != "0" else "1")
    assert not verify(BODY, flipped, SECRET)


def test_wrong_secret_fails() -> None:
    assert not verify(BODY, VALID, SECRET + "x")
    assert not verify(BODY, VALID, SECRET[:-1])


def test_rotation_any_header_value_accepts() -> None:
    """During rotation the header carries one v1 value per secret; any match accepts."""
    header = sign(BODY, ["old-secret", SECRET])
    assert header == f"{sign(BODY, 'old-secret')},{VALID}"
    assert verify(BODY, header, SECRET)
    assert verify(BODY, header, "old-secret")
    assert not verify(BODY, header, "another")
    assert verify(BODY, f"v1=deadbeef, {VALID}", SECRET)  # spaces and junk around it


def test_several_secrets_on_our_side() -> None:
    assert verify(BODY, VALID, ["our-new-secret", SECRET])
    assert verify(BODY, VALID, [b"our-new-secret", SECRET.encode()])
    assert not verify(BODY, VALID, ["a", "b"])


def test_other_schemes_and_junk_are_ignored() -> None:
    """Only `v1=` values count (a later scheme must not break verification)."""
    assert signature_values(f"v2=abc,{VALID},v1=nothex,v1=") == [VALID[3:]]
    assert verify(BODY, f"v0={VALID[3:]},{VALID}", SECRET)
    assert not verify(BODY, f"v0={VALID[3:]}", SECRET)
    assert verify(BODY, VALID.upper().replace("V1=", "v1="), SECRET)


@pytest.mark.parametrize("header", [None, "", "v1=", "sha256=00", "v1=zz"])
def test_malformed_header(header: str | None) -> None:
    with pytest.raises(MalformedSignature):
        check(BODY, header, SECRET)
    assert not verify(BODY, header, SECRET)


def test_empty_body_is_malformed() -> None:
    with pytest.raises(MalformedSignature):
        check(b"", VALID, SECRET)


def test_no_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        verify(BODY, VALID, [])
    with pytest.raises(ValueError):
        verify(BODY, VALID, "")
