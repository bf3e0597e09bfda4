"""The plan's paging keys (on-call targets among responders, the `paging:` section), what
`oor-bot plan check` says of them, and the paging settings: each problem one line naming
the field or variable."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, Settings, load_settings
from bot.domain.plan import Plan, PlanError
from bot.domain.plan_file import plan_from_data, plan_summary
from bot.domain.plan_paging import OnCallTarget
from bot.domain.responders import ResponderRef
from bot.domain.types import OorType, Role, Severity
from tests.support import EXAMPLE_PLAN
from tests.test_cli import _run

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))


def with_paging(**paging: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    data["oor_types"]["system_crash"]["responders"]["tech"] = [
        "U02BOB",
        "pagerduty:schedule/PSCHED1",
        "pagerduty:escalation_policy/PEPOL01?level=2",
    ]
    data["paging"] = paging or {
        "on_open": {"system_crash": ["sev1", "sev2"], "transaction_interruption": "sev1"},
        "routing_keys": {"system_crash": "OOR_PD_KEY_CRASH"},
        "default_routing_key": "OOR_PD_KEY",
    }
    return data


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(PlanError) as caught:
        plan_from_data(data)
    return caught.value.problems


def test_on_call_targets_are_kept_apart_from_the_fixed_responders() -> None:
    plan = plan_from_data(with_paging())
    crash = plan.for_type(OorType.SYSTEM_CRASH)
    # Chat platforms resolve the fixed responders only; the targets are PagerDuty's.
    assert crash.responders[Role.TECH] == [ResponderRef(kind="user", value="U02BOB")]
    assert plan.on_call_targets(OorType.SYSTEM_CRASH) == [
        OnCallTarget(kind="schedule", id="PSCHED1", level=1),
        OnCallTarget(kind="escalation_policy", id="PEPOL01", level=2),
    ]
    assert plan.on_call_targets(OorType.AMOUNT_ERROR) == []
    # A plan survives a round trip (the sandbox and tests copy plans this way).
    assert Plan.model_validate(plan.model_dump()) == plan


def test_paging_says_what_pages_on_open_and_through_which_variable() -> None:
    paging = plan_from_data(with_paging()).paging
    assert paging.pages_on_open(OorType.SYSTEM_CRASH, Severity.SEV2)
    assert not paging.pages_on_open(OorType.SYSTEM_CRASH, Severity.SEV3)
    assert paging.pages_on_open(OorType.TRANSACTION_INTERRUPTION, Severity.SEV1)
    assert not paging.pages_on_open(OorType.PAYMENT_FAILURE, Severity.SEV1)
    assert paging.on_escalation
    assert paging.routing_key_variable(OorType.SYSTEM_CRASH) == "OOR_PD_KEY_CRASH"
    assert paging.routing_key_variable(OorType.AMOUNT_ERROR) == "OOR_PD_KEY"


def test_without_a_paging_section_nothing_pages() -> None:
    plan = plan_from_data(copy.deepcopy(EXAMPLE))
    assert plan.paging.routing_key_variable(OorType.SYSTEM_CRASH) is None
    assert not plan.paging.pages_on_open(OorType.SYSTEM_CRASH, Severity.SEV1)


def test_a_malformed_target_is_reported_at_the_entry() -> None:
    data = with_paging()
    data["oor_types"]["system_crash"]["responders"]["tech"] += [
        "pagerduty:schedul/PSCHED1",
        "pagerduty:schedule/PSCHED1",
    ]
    assert problems(data) == [
        "oor_types.system_crash.responders.tech[3]: not a PagerDuty target; write "
        "pagerduty:schedule/PABC123 or pagerduty:escalation_policy/PXYZ789 (optionally ?level=2)",
        "oor_types.system_crash.responders.tech[4]: listed twice",
    ]


def test_paging_problems_name_the_field() -> None:
    data = with_paging(
        on_open={"system_crash": ["sev1", "sev5"], "amount_eror": ["sev1"]},
        routing_keys={"system_crash": "a" * 32},
        on_escalation="sometimes",
    )
    assert problems(data) == [
        "paging.on_open.system_crash[1]: expected one of sev1, sev2, sev3, sev4, got 'sev5'",
        "paging.on_open.amount_eror: unknown key; did you mean 'amount_error'?",
        "paging.on_escalation: expected true or false",
        "paging.routing_keys.system_crash: the NAME of an environment variable holding the "
        "routing key (upper-case letters, digits and _, e.g. OOR_PD_ROUTING_KEY), not the "
        "key itself",
    ]


def test_a_type_paged_on_open_without_a_routing_key_is_pointed_out() -> None:
    """Not a problem (a pager webhook needs no routing key), but PagerDuty could not page
    it: the summary says so."""
    data = with_paging(on_open={"amount_error": ["sev1"]}, routing_keys={"system_crash": "K"})
    plan = plan_from_data(data)
    assert plan.paging.unrouted() == [OorType.AMOUNT_ERROR]
    assert plan_summary(plan, {}).endswith(
        "  amount_error pages on open but has no routing key: only a pager webhook can page "
        "it (add paging.routing_keys.amount_error or paging.default_routing_key for PagerDuty)"
    )


def test_the_summary_tells_paging_and_whether_each_variable_is_set() -> None:
    summary = plan_summary(plan_from_data(with_paging()), {"OOR_PD_KEY_CRASH": "x" * 32})
    assert (
        "system_crash (系统崩溃): SEV1; 1 commander, 1 tech, 1 comms, 1 escalation, on call: "
        "pagerduty:schedule/PSCHED1 pagerduty:escalation_policy/PEPOL01?level=2" in summary
    )
    assert summary.endswith(
        "Paging on open: system_crash sev1, sev2; transaction_interruption sev1; "
        "on escalation: yes\n"
        "  routing key from $OOR_PD_KEY: NOT SET here\n"
        "  routing key from $OOR_PD_KEY_CRASH: set"
    )
    assert "x" * 32 not in summary


def test_plan_check_names_the_paging_field(tmp_path: Path) -> None:
    data = with_paging(on_open={"system_crash": ["sev9"]}, routing_keys={"system_crash": "K"})
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = _run("plan", "check", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"oor-bot: {path}: paging.on_open.system_crash[0]: expected one of sev1, sev2, sev3, "
        "sev4, got 'sev9'"
    ]


def test_paging_settings_and_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OOR_PAGERDUTY_API_URL", "OOR_PAGERDUTY_EVENTS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(
        OOR_PAGERDUTY_API_TOKEN="u+token",
        OOR_PAGERDUTY_WEBHOOK_SECRET="old-secret, new-secret",
    )
    assert settings.pagerduty_api_url == "https://api.pagerduty.com"
    assert settings.pagerduty_events_url == "https://events.pagerduty.com"
    assert settings.pagerduty_webhook_secrets == ["old-secret", "new-secret"]
    # Secret strings: never shown by repr or logs.
    assert "u+token" not in repr(settings) and "new-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OOR_PAGERDUTY_API_URL", "api.pagerduty.com", "must be an http(s) URL"),
        ("OOR_PAGERDUTY_EVENTS_URL", "ftp://x", "must be an http(s) URL"),
        ("OOR_PAGER_WEBHOOK_SECRET", "plain", "must be a Standard Webhooks secret"),
        ("OOR_PAGERDUTY_WEBHOOK_SECRET", "a,,b", "must be the subscription's secret"),
    ],
)
def test_bad_paging_settings_are_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{variable}: {message}")
    assert value not in str(caught.value) or variable.endswith("_URL")


def test_the_pager_webhook_needs_its_url_and_secret_together() -> None:
    settings = Settings(OOR_WEBHOOK_TOKEN="t", OOR_PAGER_WEBHOOK_URL="https://pager.example/h")
    with pytest.raises(ConfigError, match="OOR_PAGER_WEBHOOK_URL / OOR_PAGER_WEBHOOK_SECRET"):
        settings.check_complete()
