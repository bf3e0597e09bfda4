"""The emergency plan: the example loads, and every broken plan names the key to fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.alert_rules import AlertmanagerRules
from bot.domain.durations import format_duration, parse_duration
from bot.domain.plan import Deadline, PartnerKind, Plan, PlanError
from bot.domain.plan_file import load_plan, parse_plan, plan_from_data, plan_summary
from bot.domain.responders import ResponderRef, parse_responder
from bot.domain.types import OorType, Role, Severity, Step

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "tests" / "fixtures" / "plans"
EXAMPLE = ROOT / "plan.example.yaml"


def problems(name: str) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(PLANS / name)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# --- The example plan ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> Plan:
    return load_plan(EXAMPLE)


def test_example_plan_loads(example: Plan) -> None:
    assert example.tz == ZoneInfo("Asia/Shanghai")
    assert example.broadcast_channel == "#payments-incidents"
    assert example.review_channel == "#payments-review"
    assert isinstance(example.alertmanager, AlertmanagerRules)
    for oor_type in OorType:
        type_plan = example.for_type(oor_type)
        assert type_plan.responders[Role.COMMANDER], oor_type
        assert list(type_plan.responders) == list(Role)
        assert type_plan.deadline(Step.RESPOND) is not None


def test_example_plan_uses_every_kind_of_responder(example: Plan) -> None:
    kinds = {ref.kind for t in OorType for ref in example.all_responder_refs(t)}
    assert kinds == {"user", "email", "usergroup"}
    crash = example.all_responder_refs(OorType.SYSTEM_CRASH)
    assert [str(ref) for ref in crash] == [
        "U01ALICE",
        "@payments-oncall",
        "U02BOB",
        "carol@example.com",
    ]
    assert crash[1] == ResponderRef(kind="usergroup", value="payments-oncall")
    with_escalation = example.all_responder_refs(OorType.SYSTEM_CRASH, include_escalation=True)
    assert with_escalation[-1] == ResponderRef(kind="user", value="U04DAVE")


def test_example_system_crash_is_tighter_than_amount_error(example: Plan) -> None:
    for step in (Step.RESPOND, Step.INVESTIGATE, Step.RESOLVE):
        crash = example.for_type(OorType.SYSTEM_CRASH).deadline(step)
        amount = example.for_type(OorType.AMOUNT_ERROR).deadline(step)
        assert crash is not None and amount is not None
        assert crash.within < amount.within, step


def test_plan_summary(example: Plan) -> None:
    summary = plan_summary(example)
    assert summary.splitlines()[:3] == [
        "Plan: 支付系统异常应急预案 / Payments emergency plan",
        "Time zone: Asia/Shanghai",
        "Channels: broadcast #payments-incidents, review #payments-review",
    ]
    assert (
        "  system_crash (系统崩溃): SEV1; 1 commander, 2 tech, 1 comms, 1 escalation; "
        "deadlines 6/6; partners 1"
    ) in summary.splitlines()
    assert "alipay (1)" in summary


def test_minimal_plan_uses_defaults() -> None:
    plan = load_plan(PLANS / "minimal.yaml")
    assert plan.broadcast_channel is None
    assert plan.alertmanager == AlertmanagerRules()
    assert plan.payment_methods == {}
    type_plan = plan.for_type(OorType.AMOUNT_ERROR)
    assert type_plan.severity is Severity.SEV2
    assert type_plan.responders == {
        Role.COMMANDER: [ResponderRef(kind="user", value="U01ALICE")],
        Role.TECH: [],
        Role.COMMS: [],
    }
    assert type_plan.deadline(Step.RESPOND) is None
    assert type_plan.deadline_map() == {}
    assert plan.partners_for(OorType.AMOUNT_ERROR, "alipay") == []
    assert "Channels" not in plan_summary(plan)


def test_plan_is_frozen(example: Plan) -> None:
    with pytest.raises(ValueError):
        example.timezone = "UTC"


# --- Deadlines ------------------------------------------------------------------------------


def test_deadline_forms() -> None:
    type_plan = load_plan(PLANS / "deadlines.yaml").for_type(OorType.PAYMENT_FAILURE)
    assert type_plan.deadline(Step.RESPOND) == Deadline(within=timedelta(seconds=30))
    assert type_plan.deadline(Step.RECORD) == Deadline(within=timedelta(minutes=15))
    assert type_plan.deadline(Step.INVESTIGATE) == Deadline(within=timedelta(hours=1, minutes=30))
    assert type_plan.deadline(Step.RESOLVE) == Deadline(within=timedelta(days=1, hours=2))
    assert type_plan.deadline(Step.NOTIFY) == Deadline(
        within=timedelta(hours=2), after=Step.INVESTIGATE
    )
    review = type_plan.deadline(Step.REVIEW)
    assert review is not None and review.after is Step.RESOLVE
    assert review.describe() == "within 5d after resolve"
    assert type_plan.deadline(Step.RESPOND).describe() == "within 30s"  # type: ignore[union-attr]


def test_severity_overrides_fall_back_to_the_type_deadlines() -> None:
    type_plan = load_plan(PLANS / "deadlines.yaml").for_type(OorType.PAYMENT_FAILURE)
    sev1 = type_plan.deadline_map(Severity.SEV1)
    assert sev1[Step.RESPOND].within == timedelta(seconds=10)
    assert sev1[Step.RESOLVE].within == timedelta(hours=1)
    assert sev1[Step.RECORD].within == timedelta(minutes=15)  # not overridden
    assert list(sev1) == list(Step)
    # A severity without overrides, or none given, uses the type's deadlines.
    assert type_plan.deadline(Step.RESPOND, Severity.SEV3) == type_plan.deadline(Step.RESPOND)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("4h", timedelta(hours=4)),
        ("5d", timedelta(days=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("2D", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5x", "m", "4 hours", "30m1h", "-5m", "1.5h", 30, None])
def test_parse_duration_refuses(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(days=5)) == "5d"
    assert format_duration(timedelta(seconds=30)) == "30s"
    assert format_duration(timedelta(0)) == "0s"
    assert parse_duration(format_duration(timedelta(days=1, seconds=61))) == timedelta(
        days=1, seconds=61
    )


# --- Responders and partners ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("U01ALICE", "user", "U01ALICE"),
        ("W012ABCDEF", "user", "W012ABCDEF"),
        ("bob@example.com", "email", "bob@example.com"),
        ("@payments-oncall", "usergroup", "payments-oncall"),
        (" @sre.team_cn ", "usergroup", "sre.team_cn"),
    ],
)
def test_parse_responder(text: str, kind: str, value: str) -> None:
    ref = parse_responder(text)
    assert (ref.kind, ref.value) == (kind, value)
    assert str(ref) == text.strip()


def test_partners_for_merges_type_and_payment_method() -> None:
    plan = load_plan(PLANS / "partners.yaml")
    names = [p.name for p in plan.partners_for(OorType.PAYMENT_FAILURE, "ALIPAY")]
    # The type's own entries first; "支付宝 alipay" from the method is the same partner.
    assert names == ["支付宝 Alipay", "Gateway vendor", "网商银行 MYbank"]
    alipay = plan.partners_for(OorType.PAYMENT_FAILURE, "alipay")[0]
    assert alipay.notes == "type-specific entry wins" and alipay.kind is PartnerKind.CHANNEL
    assert [p.name for p in plan.partners_for(OorType.SYSTEM_CRASH, " Card ")] == ["Acquiring bank"]
    assert plan.partners_for(OorType.SYSTEM_CRASH, None) == []
    assert plan.partners_for(OorType.SYSTEM_CRASH, "unknown_method") == []
    assert [p.name for p in plan.partners_for(OorType.PAYMENT_FAILURE, None)] == [
        "支付宝 Alipay",
        "Gateway vendor",
    ]


def test_example_partners(example: Plan) -> None:
    card = example.partners_for(OorType.AMOUNT_ERROR, "card")
    assert [p.kind for p in card] == [PartnerKind.OTHER, PartnerKind.ACQUIRER, PartnerKind.CHANNEL]


# --- Broken plans: one exact line per problem ---------------------------------------------------


def test_missing_file() -> None:
    missing = PLANS / "does-not-exist.yaml"
    with pytest.raises(PlanError) as caught:
        load_plan(missing)
    assert caught.value.problems == [f"{missing}: no such file"]


def test_yaml_syntax_error() -> None:
    assert problems("syntax_error.yaml") == [
        "line 6, column 4: expected <block end>, but found '<block mapping start>' "
        "(check the indentation of this line)"
    ]


def test_duplicate_key() -> None:
    assert problems("duplicate_key.yaml") == ["line 6, column 3: duplicate key 'alipay'"]


def test_empty_and_non_mapping_files() -> None:
    assert problems("empty.yaml") == [f"{PLANS / 'empty.yaml'}: the file is empty"]
    assert problems("not_mapping.yaml") == [
        f"{PLANS / 'not_mapping.yaml'}: expected keys such as name, timezone and oor_types"
    ]


def test_unknown_keys() -> None:
    assert problems("unknown_key.yaml") == [
        "alertmanager.type_lable: unknown key; did you mean 'type_label'?",
        "oor_types.payment_failure.responders.comander: unknown key; did you mean 'commander'?",
        "oor_types.payment_failure.deadlines.respnd: unknown key; did you mean 'respond'?",
        "oor_types.payment_failure.partners[0].phone_number: unknown key; "
        "expected one of name, kind, contact, phone, email, notes",
        "oor_types.payment_failure.runbok_url: unknown key; did you mean 'runbook_url'?",
        "oor_types.outage: unknown key; "
        "expected one of payment_failure, transaction_interruption, amount_error, system_crash",
        "broadcast: unknown key; did you mean 'broadcast_channel'?",
    ]


def test_bad_responders() -> None:
    hint = "not a Slack user id, email or @user-group handle"
    assert problems("bad_responder.yaml") == [
        f"oor_types.payment_failure.responders.commander[1]: {hint}",
        f"oor_types.payment_failure.responders.tech[0]: {hint}",
        f"oor_types.payment_failure.responders.tech[1]: {hint}",
        f"oor_types.payment_failure.responders.tech[2]: {hint}",
        f"oor_types.payment_failure.responders.tech[3]: {hint} (got 42)",
        f"oor_types.payment_failure.escalation[0]: {hint}",
        "oor_types.transaction_interruption.responders.tech[2]: listed twice (also tech[0])",
        "oor_types.transaction_interruption.responders.commander: needs at least one responder",
        "oor_types.amount_error.responders.tech: missing (write `tech: []` if nobody)",
    ]


def test_bad_timezone() -> None:
    assert problems("bad_timezone.yaml") == ["timezone: unknown time zone 'Asia/Shangai'"]


def test_bad_durations() -> None:
    hint = "expected a duration like 30s, 5m, 4h, 5d or 1h30m"
    assert problems("bad_duration.yaml") == [
        f"oor_types.payment_failure.deadlines.respond: {hint}, got '5x'",
        "oor_types.payment_failure.deadlines.record: must be longer than zero, got '0m'",
        f"oor_types.payment_failure.deadlines.investigate: {hint}, got 30",
        f"oor_types.payment_failure.deadlines.resolve.within: {hint}, got '4 hours'",
        f"oor_types.payment_failure.deadlines.notify: {hint}, got '30m1h'",
        "oor_types.payment_failure.deadlines.review.within: missing",
    ]


def test_bad_after() -> None:
    assert problems("bad_after.yaml") == [
        "oor_types.transaction_interruption.deadlines.notify.after: unknown step 'lunch'; "
        "expected one of opened, respond, record, investigate, resolve, notify, review",
        "oor_types.amount_error.deadlines_by_severity.sev1.record.after: "
        "'resolve' must come before 'record'",
        "oor_types.system_crash.deadlines.respond.after: 'review' must come before 'respond'",
        "oor_types.system_crash.deadlines.review.after: 'review' must come before 'review'",
    ]


def test_missing_oor_types() -> None:
    assert problems("missing_type.yaml") == [
        "oor_types.amount_error: missing",
        "oor_types.system_crash: missing",
    ]


def test_bad_values() -> None:
    assert problems("bad_values.yaml") == [
        "name: must not be empty",
        "broadcast_channel: write channel names with '#', e.g. '#payments-incidents'",
        "review_channel: not a channel id (C…) or #channel-name (lowercase, no spaces)",
        "alertmanager.default_type: expected one of payment_failure, transaction_interruption, "
        "amount_error, system_crash, got 'outage'",
        "oor_types.payment_failure.severity: expected one of sev1, sev2, sev3, sev4, "
        "got 'critical'",
        "oor_types.payment_failure.runbook_url: expected an http:// or https:// address",
        "oor_types.payment_failure.deadlines_by_severity.sev5: unknown key; did you mean 'sev4'?",
        "oor_types.payment_failure.partners[0].name: missing",
        "oor_types.payment_failure.partners[0].kind: expected one of acquirer, bank, channel, "
        "merchant, other, got 'wholesaler'",
        "oor_types.payment_failure.partners[0].email: not an email address",
        "payment_methods.wechat_pay.partners: expected a list",
    ]


def test_payment_method_keys_must_be_lowercase() -> None:
    minimal = (PLANS / "minimal.yaml").read_text(encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        parse_plan(minimal + "payment_methods:\n  Alipay: {partners: []}\n")
    assert caught.value.problems == [
        "payment_methods.Alipay: payment method keys are lowercase letters, digits and _ "
        "(e.g. wechat_pay)"
    ]


def test_many_problems_are_reported_at_once() -> None:
    assert problems("multiple_problems.yaml") == [
        "name: missing",
        "timezone: unknown time zone 'Mars/Olympus_Mons'",
        "oor_types.payment_failure.responders.commander[0]: "
        "not a Slack user id, email or @user-group handle",
        "oor_types.payment_failure.deadlines.respond: "
        "expected a duration like 30s, 5m, 4h, 5d or 1h30m, got 'soon'",
        "oor_types.amount_error: missing",
    ]


def test_plan_from_data_without_yaml() -> None:
    with pytest.raises(PlanError) as caught:
        plan_from_data({"name": "x", "timezone": "UTC"}, source="inline")
    assert caught.value.problems == ["oor_types: missing"]
    with pytest.raises(PlanError) as caught:
        plan_from_data([], source="inline")
    assert caught.value.problems == ["inline: expected keys such as name, timezone and oor_types"]
