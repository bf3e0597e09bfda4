"""The Socket Mode supervisor's rules: how long it waits, what stops it, what it logs."""

from __future__ import annotations

import pytest

from bot.slack.socket_mode import TOKEN_ERRORS, RetryPolicy, token_error_line


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
