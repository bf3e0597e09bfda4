"""Webhooks v3 signatures: ``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``.

Each value is the lowercase hex HMAC-SHA256 of the raw request body, keyed by the UTF-8
bytes of the subscription's secret (the secret is used as given, not base64-decoded). While a
secret is being rotated PagerDuty sends one value per secret; a delivery is genuine when any
``v1`` value matches any secret we hold (we may hold several during our own rotation too).
Values of other schemes are ignored, so a future ``v2`` does not break us. Every comparison
is constant-time (:func:`hmac.compare_digest`).

Plain Python, no HTTP framework: the webhook route reads the raw body and the header and
calls :func:`verify` (or :func:`check` to tell a malformed header from a wrong signature).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-PagerDuty-Signature"
SCHEME = "v1"
# A rotation has two or three values; more than this is not a PagerDuty header, and a
# bound keeps a hostile header from costing many HMAC comparisons.
MAX_VALUES = 16
_HEX_LEN = hashlib.sha256().digest_size * 2

Secret = str | bytes


class SignatureError(ValueError):
    """The delivery cannot be taken as PagerDuty's."""


class MalformedSignature(SignatureError):
    """No header, an empty body, or no ``v1=`` value that is a SHA-256 hex digest."""


class InvalidSignature(SignatureError):
    """Well-formed ``v1`` values, none of which matches a secret we hold."""


def _key(secret: Secret) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def _keys(secrets: Secret | Iterable[Secret]) -> list[bytes]:
    if isinstance(secrets, str | bytes):
        return [_key(secrets)]
    keys = [_key(s) for s in secrets]
    if not keys:
        raise ValueError("at least one webhook secret is needed")
    return keys


def digest(body: bytes, secret: Secret) -> str:
    """The hex HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: Secret | Iterable[Secret]) -> str:
    """The header value PagerDuty would send: one ``v1=`` value per secret, comma-separated."""
    return ",".join(
        f"{SCHEME}={hmac.new(k, body, hashlib.sha256).hexdigest()}" for k in _keys(secrets)
    )


def signature_values(header: str | None) -> list[str]:
    """The ``v1`` digests of a header (lowercased), skipping other schemes and junk."""
    values: list[str] = []
    for part in (header or "").split(",")[:MAX_VALUES]:
        scheme, sep, value = part.strip().partition("=")
        value = value.strip().lower()
        if not sep or scheme.strip() != SCHEME or len(value) != _HEX_LEN:
            continue
        try:
            bytes.fromhex(value)
        except ValueError:
            continue
        values.append(value)
    return values


def check(body: bytes, header: str | None, secrets: Secret | Iterable[Secret]) -> None:
    """Return if ``header`` signs ``body`` under one of ``secrets``; raise otherwise."""
    keys = _keys(secrets)
    if not body:
        raise MalformedSignature("empty body")
    values = signature_values(header)
    if not values:
        raise MalformedSignature(f"no {SCHEME}= value in {SIGNATURE_HEADER}")
    matched = False
    for key in keys:
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        for value in values:
            # No early exit: the work done does not depend on which value matched.
            matched |= hmac.compare_digest(expected, value)
    if not matched:
        raise InvalidSignature("no signature matches")


def verify(body: bytes, header: str | None, secrets: Secret | Iterable[Secret]) -> bool:
    """True when ``header`` signs ``body`` under one of ``secrets``."""
    try:
        check(body, header, secrets)
    except SignatureError:
        return False
    return True
