"""The Socket Mode supervisor's rules: how long it waits, what stops it, what it logs."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.socket_mode import (
    TOKEN_ERRORS,
    RetryPolicy,
    _api_failure,
    _AttemptFailed,
    _TokenRejected,
    token_error_line,
)


def test_waits_double_up_to_the_cap_and_are_jittered_down_by_at_most_half() -> None:
    policy = RetryPolicy(first=1.0, cap=30.0)
    longest = [policy.delay(n, rand=lambda: 1.0) for n in range(1, 8)]
    assert longest == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    shortest = [policy.delay(n, rand=lambda: 0.0) for n in range(1, 8)]
    assert shortest == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert policy.delay(10_000) <= 30.0  # no overflow, still capped


@pytest.mark.parametrize("error", sorted(TOKEN_ERRORS))
def test_a_rejected_app_token_is_one_line_naming_the_variable(error: str) -> None:
    line = token_error_line(error)
    assert line.startswith(f"SLACK_APP_TOKEN: {error} ")
    assert "\n" not in line and "xapp-" not in line
    assert line.endswith("Slack requests are not received until it is fixed")


def test_the_errors_that_stop_retrying_are_about_the_token() -> None:
    # apps.connections.open.json documents invalid_auth and missing_args for a bad or
    # missing app-level token; the rest are Slack's generic token errors.
    assert {"invalid_auth", "missing_args", "not_authed", "token_revoked"} <= TOKEN_ERRORS
    assert not {"ratelimited", "internal_error", "fatal_error", "service_unavailable"} & (
        TOKEN_ERRORS
    )


def _answer(status: int, error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/apps.connections.open",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("apps.connections.open failed", response)


def test_slack_answers_decide_between_retrying_and_giving_up() -> None:
    revoked = _api_failure(_answer(200, "token_revoked"))
    assert isinstance(revoked, _TokenRejected) and revoked.error == "token_revoked"
    down = _api_failure(_answer(503, "internal_error"))
    assert isinstance(down, _AttemptFailed)
    assert down.reason == "apps.connections.open: internal_error (HTTP 503)"
    # Tier 3: a 429 waits at least its Retry-After, however short the backoff.
    limited = _api_failure(_answer(429, "ratelimited", {"Retry-After": "7"}))
    assert isinstance(limited, _AttemptFailed) and limited.retry_after == 7.0
