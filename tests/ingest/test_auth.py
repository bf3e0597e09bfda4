"""Webhook authentication with real Standard Webhooks signatures made by the library."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from bot.ingest.auth import WebhookAuthenticator
from bot.ingest.errors import IngestError

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
TOKEN = "s3cr3t-token"
BODY = b'{"id": "1", "type": "system_crash", "title": "DB down"}'


def signed(
    body: bytes = BODY, secret: str = SECRET, at: datetime | None = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    at = at or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(auth: WebhookAuthenticator, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(IngestError) as info:
        auth.verify(headers, body)
    err = info.value
    assert err.status == 401 and err.to_json()["error"] == "unauthorized"
    # Nothing secret may leak into the answer.
    text = str(err.to_json())
    for secret in (SECRET, SECRET.removeprefix("whsec_"), TOKEN, "wrong-token"):
        assert secret not in text
    return err.message


BOTH = WebhookAuthenticator(secret=SECRET, token=TOKEN)


def test_valid_signature() -> None:
    assert BOTH.verify(signed(), BODY) == "signature"
    assert WebhookAuthenticator(secret=SECRET).verify(signed(), BODY) == "signature"


def test_signature_headers_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in signed().items()}
    assert BOTH.verify(headers, BODY) == "signature"


def test_one_of_several_signatures_may_match() -> None:
    headers = signed()
    other = signed(secret=OTHER_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"{other} {headers['webhook-signature']}"
    assert BOTH.verify(headers, BODY) == "signature"


def test_wrong_secret() -> None:
    assert "signature" in refused(BOTH, signed(secret=OTHER_SECRET))


def test_stale_timestamp() -> None:
    old = datetime.now(tz=UTC) - timedelta(minutes=6)
    assert "signature" in refused(BOTH, signed(at=old))


def test_future_timestamp() -> None:
    refused(BOTH, signed(at=datetime.now(tz=UTC) + timedelta(minutes=6)))


def test_slightly_old_timestamp_is_fine() -> None:
    at = datetime.now(tz=UTC) - timedelta(minutes=4)
    assert BOTH.verify(signed(at=at), BODY) == "signature"


def test_tampered_body() -> None:
    refused(BOTH, signed(), BODY.replace(b"DB down", b"DB up"))


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-signature": "garbage"},
        {"webhook-signature": "v1,not-base64!!"},
        {"webhook-signature": "v1,a,b"},
        {"webhook-signature": ""},
        {"webhook-timestamp": "yesterday"},
        {"webhook-timestamp": "nan"},
        {"webhook-timestamp": "1e400"},
        {"webhook-id": ""},
        {"webhook-id": "other"},
    ],
)
def test_malformed_signature_headers_are_401_not_500(change: dict[str, str]) -> None:
    refused(BOTH, {**signed(), **change})


def test_non_utf8_body_with_signature_is_401() -> None:
    refused(BOTH, signed(), b"\xff\xfe")


def test_valid_signature_over_non_json_body_still_authenticates() -> None:
    # Authentication is about who sent it; a bad body is a 400 for the parser to give.
    assert BOTH.verify(signed(b"not json"), b"not json") == "signature"


def test_bearer_ok() -> None:
    assert BOTH.verify(bearer(), BODY) == "token"
    assert WebhookAuthenticator(token=TOKEN).verify(bearer(), BODY) == "token"


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {TOKEN}"},
        {"AUTHORIZATION": f"bearer {TOKEN}"},
        {"Authorization": f"  BEARER   {TOKEN}  "},
    ],
)
def test_bearer_header_and_scheme_case_insensitive(headers: dict[str, str]) -> None:
    assert BOTH.verify(headers, BODY) == "token"


def test_bearer_wrong() -> None:
    assert "token" in refused(BOTH, bearer("wrong-token"))
    refused(BOTH, bearer(TOKEN + "x"))
    refused(BOTH, bearer(TOKEN.upper()))
    refused(BOTH, bearer("ünïcödé"))


@pytest.mark.parametrize("value", [TOKEN, f"Basic {TOKEN}", "Bearer", "Bearer   "])
def test_not_a_bearer_header(value: str) -> None:
    assert "missing credentials" in refused(BOTH, {"Authorization": value})


def test_valid_token_is_enough_even_with_a_bad_signature() -> None:
    headers = {**signed(secret=OTHER_SECRET), **bearer()}
    assert BOTH.verify(headers, BODY) == "token"


def test_bad_signature_and_no_token_is_401() -> None:
    refused(WebhookAuthenticator(secret=SECRET, token=TOKEN), signed(secret=OTHER_SECRET))


def test_bad_signature_and_wrong_token_is_401() -> None:
    refused(BOTH, {**signed(secret=OTHER_SECRET), **bearer("wrong-token")})


def test_signature_without_configured_secret_does_not_count() -> None:
    refused(WebhookAuthenticator(token=TOKEN), signed())


def test_token_without_configured_token_does_not_count() -> None:
    refused(WebhookAuthenticator(secret=SECRET), bearer())


def test_no_credentials() -> None:
    message = refused(BOTH, {})
    assert "Bearer" in message and "signature" in message.lower()
    refused(BOTH, {"content-type": "application/json"})


def test_neither_configured_refuses_everything() -> None:
    auth = WebhookAuthenticator(secret=None, token=None)
    assert not auth.configured
    assert "not configured" in refused(auth, {**signed(), **bearer()})
    assert not WebhookAuthenticator(secret="", token="").configured


def test_starlette_headers_work() -> None:
    from starlette.datastructures import Headers

    headers = Headers(raw=[(b"authorization", f"Bearer {TOKEN}".encode())])
    assert BOTH.verify(headers, BODY) == "token"


def test_invalid_secret_is_refused_at_construction_without_echoing_it() -> None:
    with pytest.raises(ValueError) as info:
        WebhookAuthenticator(secret="whsec_%%%%")  # decodes to an empty key
    assert "%%%%" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
