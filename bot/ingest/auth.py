"""Who may post events: a Standard Webhooks signature or a bearer token.

Senders that can sign (our own services) use a Standard Webhooks signature, which also
protects the body and, through its timestamp, limits replays to the library's 5-minute
tolerance. Alertmanager cannot sign (see tests/fixtures/alertmanager/README.md) and sends
``Authorization: Bearer <token>`` instead. Replays inside the tolerance window are absorbed
by the events' idempotency keys, not here.

Error messages never contain the configured secret, the token or the received values.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Literal

from standardwebhooks.webhooks import Webhook

from bot.ingest.errors import IngestError

AuthMethod = Literal["signature", "token"]


class WebhookAuthenticator:
    """Checks one request's credentials; see :meth:`verify`."""

    def __init__(self, secret: str | None = None, token: str | None = None) -> None:
        self._webhook: Webhook | None = None
        if secret:
            try:
                self._webhook = Webhook(secret)
            except Exception:
                # The library's errors do not echo the secret, but be sure: never chain them.
                raise ValueError(
                    "the webhook secret is not a valid Standard Webhooks secret "
                    "(expected whsec_ followed by base64)"
                ) from None
        # Compare bytes: hmac.compare_digest refuses str with non-ASCII characters.
        self._token = token.encode() if token else None

    @property
    def configured(self) -> bool:
        return self._webhook is not None or self._token is not None

    def verify(self, headers: Mapping[str, str], body: bytes) -> AuthMethod:
        """How the request proved itself: ``"signature"`` or ``"token"``; else IngestError 401.

        A valid signature or a valid bearer token is each enough on its own. A signature
        that is present but does not verify is not an error by itself when a valid token
        is also sent, but it is never "ignored" into success without one.
        """
        if not self.configured:
            # Fail closed: an unconfigured bot must not accept anonymous events.
            raise IngestError(401, "webhook authentication is not configured on this bot")
        lower = {k.lower(): v for k, v in headers.items()}

        signature_problem: str | None = None
        if self._webhook is not None and "webhook-signature" in lower:
            if self._signature_ok(lower, body):
                return "signature"
            signature_problem = (
                "the webhook signature did not verify (wrong secret, altered body, or a "
                "webhook-timestamp more than 5 minutes away from the bot's clock)"
            )

        token = _bearer_token(lower.get("authorization"))
        if token is not None and self._token is not None:
            if hmac.compare_digest(token.encode(), self._token):
                return "token"
            raise IngestError(401, "the bearer token is not valid")
        if signature_problem is not None:
            raise IngestError(401, signature_problem)
        raise IngestError(401, self._missing_credentials_message())

    def _missing_credentials_message(self) -> str:
        ways = []
        if self._webhook is not None:
            ways.append("a Standard Webhooks signature (webhook-id, -timestamp, -signature)")
        if self._token is not None:
            ways.append("an 'Authorization: Bearer <token>' header")
        return "missing credentials: send " + " or ".join(ways)

    def _signature_ok(self, lower: dict[str, str], body: bytes) -> bool:
        assert self._webhook is not None
        try:
            # json_parse=False: authentication must not depend on the body being JSON;
            # a bad body is reported later as 400 to an authenticated sender.
            self._webhook.verify(body, lower, json_parse=False)
        except Exception:
            # The library raises WebhookVerificationError for expected failures but lets
            # malformed input escape as ValueError/binascii.Error/UnicodeDecodeError
            # (e.g. a signature without a comma, a non-UTF-8 body); all mean "not verified".
            return False
        return True


def _bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    # The auth scheme is case-insensitive (RFC 9110 §11.1).
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
