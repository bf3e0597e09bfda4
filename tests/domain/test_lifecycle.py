"""The six-step state machine: what each command changes, when it is a no-op, and what it
refuses (with a message that says what to do instead)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.domain import lifecycle
from bot.domain.facts import RecordedFacts
from bot.domain.incident import IncidentSnapshot, StepRecord, initial_steps
from bot.domain.lifecycle import Change, CommandRefused
from bot.domain.records import Person, Sentence, said
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
T2 = T0 + timedelta(minutes=30)
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


def incident(**changes: Any) -> IncidentSnapshot:
    base = IncidentSnapshot(
        number=7,
        type=OorType.PAYMENT_FAILURE,
        title="Alipay channel blocked",
        severity=Severity.SEV2,
        status=IncidentStatus.OPEN,
        source="native",
        opened_at=T0,
        steps=initial_steps(),
    )
    return replace(base, **changes)


def with_step(snapshot: IncidentSnapshot, step: Step, **fields: Any) -> IncidentSnapshot:
    steps = tuple(replace(r, **fields) if r.step is step else r for r in snapshot.steps)
    return replace(snapshot, steps=steps)


_ENUM_COLUMNS = {
    "status": IncidentStatus,
    "severity": Severity,
    "cause_category": CauseCategory,
}


def applied(snapshot: IncidentSnapshot, change: Change) -> IncidentSnapshot:
    """What storage would make of ``change`` (enough of it to chain commands)."""
    by_step = {r.step: r for r in change.steps}
    columns: dict[str, Any] = {
        k: (_ENUM_COLUMNS[k](v) if k in _ENUM_COLUMNS and v is not None else v)
        for k, v in change.incident.items()
    }
    return replace(
        snapshot,
        steps=tuple(by_step.get(r.step, r) for r in snapshot.steps),
        details={**snapshot.details, **change.details},
        roles={**snapshot.roles, **change.roles},
        **columns,
    )


def resolved(summary: str = "Switched to the backup channel") -> IncidentSnapshot:
    snap = applied(incident(), lifecycle.acknowledge(incident(), ALICE, T0))
    return applied(snap, lifecycle.resolve(snap, ALICE, T1, summary, CauseCategory.PARTNER))


def closed() -> IncidentSnapshot:
    snap = resolved()
    return applied(snap, lifecycle.close(snap, ALICE, T2, force=True))


def only_step(change: Change) -> StepRecord:
    assert len(change.steps) == 1
    return change.steps[0]


def assert_unchanged(change: Change) -> None:
    assert change.changed is False
    assert change == Change(reply=change.reply)
    assert change.reply


# -- step 1 --------------------------------------------------------------------------------
def test_acknowledge_finishes_step_1_and_makes_the_first_responder_commander() -> None:
    change = lifecycle.acknowledge(incident(), ALICE, T1)
    record = only_step(change)
    assert record.step is Step.RESPOND and record.state is StepState.DONE
    assert (record.started_at, record.started_by) == (T1, ALICE)
    assert (record.completed_at, record.completed_by) == (T1, ALICE)
    assert change.roles == {Role.COMMANDER: ALICE}
    (note,) = change.timeline
    assert note.kind == "step" and note.announce
    assert "step 1" in note.text and "commander" in note.text
    assert "commander" in change.reply and "OOR-7" in change.reply
    assert change.changed


def test_acknowledge_keeps_an_existing_commander() -> None:
    change = lifecycle.acknowledge(incident(roles={Role.COMMANDER: BOB}), ALICE, T1)
    assert change.roles == {}
    assert only_step(change).completed_by == ALICE
    assert "commander" not in change.timeline[0].text
    assert "commander" not in change.reply


def test_acknowledging_twice_changes_nothing_and_names_who_did_it() -> None:
    snap = applied(incident(), lifecycle.acknowledge(incident(), ALICE, T1))
    change = lifecycle.acknowledge(snap, BOB, T2)
    assert_unchanged(change)
    assert isinstance(change.reply, Sentence) and change.reply.people() == (ALICE,)
    assert "<@" not in str(change.reply)


def test_acknowledge_keeps_an_earlier_start() -> None:
    snap = with_step(
        incident(), Step.RESPOND, state=StepState.IN_PROGRESS, started_at=T0, started_by=BOB
    )
    record = only_step(lifecycle.acknowledge(snap, ALICE, T1))
    assert (record.started_at, record.started_by) == (T0, BOB)
    assert (record.completed_at, record.completed_by) == (T1, ALICE)


# -- step 2 --------------------------------------------------------------------------------
def test_record_stores_new_facts_and_finishes_step_2() -> None:
    occurred = datetime(2026, 11, 23, 0, 40, tzinfo=UTC)
    facts = RecordedFacts(
        occurred_at=occurred, amount=Decimal("1200.50"), currency="CNY", affected_transactions=57
    )
    change = lifecycle.record(incident(), ALICE, T1, facts)
    record = only_step(change)
    assert record.step is Step.RECORD and record.state is StepState.DONE
    assert (record.completed_at, record.completed_by) == (T1, ALICE)
    assert change.details == {"amount": "1200.50", "currency": "CNY", "affected_transactions": 57}
    assert change.incident == {"occurred_at": occurred}
    (note,) = change.timeline
    assert note.kind == "step" and note.announce
    assert note.text.endswith("affected_transactions, amount, currency, occurred_at")


def test_record_again_updates_only_what_changed() -> None:
    first = RecordedFacts(amount=Decimal("10"), currency="CNY")
    snap = applied(incident(), lifecycle.record(incident(), ALICE, T1, first))
    change = lifecycle.record(snap, BOB, T2, RecordedFacts(amount=Decimal("12"), currency="CNY"))
    assert change.steps == ()  # step 2 is already done; its who/when stay
    assert change.details == {"amount": "12"}
    (note,) = change.timeline
    assert note.kind == "record" and note.text == "updated the record: amount"


def test_recording_the_same_facts_again_changes_nothing() -> None:
    facts = RecordedFacts(merchant_id="M-10086")
    snap = applied(incident(), lifecycle.record(incident(), ALICE, T1, facts))
    assert_unchanged(lifecycle.record(snap, BOB, T2, facts))


def test_recording_facts_the_alert_already_gave_still_finishes_step_2() -> None:
    snap = incident(details={"payment_method": "alipay"})
    change = lifecycle.record(snap, ALICE, T1, RecordedFacts(payment_method="alipay"))
    assert only_step(change).state is StepState.DONE
    assert change.details == {}
    assert change.timeline[0].text.endswith("done): payment_method")


def test_record_refuses_empty_facts() -> None:
    with pytest.raises(CommandRefused, match="Nothing to record"):
        lifecycle.record(incident(), ALICE, T1, RecordedFacts())


# -- step 3 --------------------------------------------------------------------------------
def test_the_first_finding_starts_the_investigation_quietly() -> None:
    change = lifecycle.add_finding(incident(), ALICE, T1, "  gateway returns 502  ")
    record = only_step(change)
    assert record.step is Step.INVESTIGATE and record.state is StepState.IN_PROGRESS
    assert (record.started_at, record.started_by) == (T1, ALICE)
    assert record.completed_at is None
    start, finding = change.timeline
    assert (start.kind, start.announce) == ("step", False)
    assert (finding.kind, finding.announce) == ("finding", True)
    assert finding.text == "finding: gateway returns 502"


def test_later_findings_only_add_to_the_timeline() -> None:
    snap = applied(incident(), lifecycle.add_finding(incident(), ALICE, T1, "one"))
    change = lifecycle.add_finding(snap, BOB, T2, "two")
    assert change.steps == ()
    assert [n.text for n in change.timeline] == ["finding: two"]
    # The same finding twice is still two observations, not a repeat command.
    assert lifecycle.add_finding(snap, BOB, T2, "one").changed


@pytest.mark.parametrize("finding", ["", "   ", "\n"])
def test_an_empty_finding_is_refused(finding: str) -> None:
    with pytest.raises(CommandRefused, match="Say what you found"):
        lifecycle.add_finding(incident(), ALICE, T1, finding)


def test_finish_investigation_keeps_who_started_it() -> None:
    snap = applied(incident(), lifecycle.add_finding(incident(), ALICE, T1, "502s"))
    change = lifecycle.finish_investigation(snap, BOB, T2)
    record = only_step(change)
    assert record.state is StepState.DONE
    assert (record.started_at, record.started_by) == (T1, ALICE)
    assert (record.completed_at, record.completed_by) == (T2, BOB)
    assert change.timeline[0].kind == "step" and change.timeline[0].announce
    assert_unchanged(lifecycle.finish_investigation(applied(snap, change), ALICE, T2))


# -- step 4 --------------------------------------------------------------------------------
def test_resolve_finishes_steps_3_and_4_and_marks_the_incident_resolved() -> None:
    change = lifecycle.resolve(incident(), ALICE, T1, "  restarted the gateway ", None)
    resolve_step, investigate = change.steps
    assert resolve_step.step is Step.RESOLVE and resolve_step.state is StepState.DONE
    assert resolve_step.note == "restarted the gateway"
    assert (resolve_step.completed_at, resolve_step.completed_by) == (T1, ALICE)
    assert investigate.step is Step.INVESTIGATE and investigate.state is StepState.DONE
    assert (investigate.completed_at, investigate.completed_by) == (T1, ALICE)
    assert change.incident == {
        "status": "resolved",
        "resolved_at": T1,
        "resolution_summary": "restarted the gateway",
        "cause_category": "other",  # no cause given
    }
    (note,) = change.timeline
    assert note.announce and "Other (其他)" in note.text and "restarted the gateway" in note.text


def test_resolve_leaves_a_skipped_or_done_investigation_alone() -> None:
    for state in (StepState.SKIPPED, StepState.DONE):
        snap = with_step(incident(), Step.INVESTIGATE, state=state)
        change = lifecycle.resolve(snap, ALICE, T1, "fixed", CauseCategory.NETWORK)
        assert [r.step for r in change.steps] == [Step.RESOLVE]
        assert change.incident["cause_category"] == "network"


@pytest.mark.parametrize("summary", ["", "  "])
def test_resolve_needs_a_summary(summary: str) -> None:
    with pytest.raises(CommandRefused, match="Say what fixed it"):
        lifecycle.resolve(incident(), ALICE, T1, summary)


def test_resolving_again_with_the_same_summary_changes_nothing() -> None:
    snap = resolved("Switched to the backup channel")
    assert_unchanged(lifecycle.resolve(snap, BOB, T2, "Switched to the backup channel "))
    same_cause = lifecycle.resolve(
        snap, BOB, T2, "Switched to the backup channel", CauseCategory.PARTNER
    )
    assert_unchanged(same_cause)


@pytest.mark.parametrize(
    ("summary", "cause"),
    [("Something else", None), ("Switched to the backup channel", CauseCategory.NETWORK)],
)
def test_resolving_again_differently_is_refused(summary: str, cause: CauseCategory | None) -> None:
    with pytest.raises(CommandRefused, match=f"already resolved by {ALICE}.*reopen"):
        lifecycle.resolve(resolved(), BOB, T2, summary, cause)


# -- steps 5 and 6 ---------------------------------------------------------------------------
def test_notify_may_happen_before_the_fix() -> None:
    change = lifecycle.mark_notified(incident(), BOB, T1, "SMS to 57 merchants")
    record = only_step(change)
    assert record.step is Step.NOTIFY and record.state is StepState.DONE
    assert (record.completed_at, record.completed_by, record.note) == (
        T1,
        BOB,
        "SMS to 57 merchants",
    )
    assert change.timeline[0].text.endswith(": SMS to 57 merchants")
    assert change.timeline[0].announce
    assert_unchanged(lifecycle.mark_notified(applied(incident(), change), ALICE, T2))


def test_notify_without_a_note() -> None:
    change = lifecycle.mark_notified(incident(), BOB, T1)
    assert only_step(change).note is None
    assert change.timeline[0].text == (
        "notified customers (step 5 notify customers (通知客户) done) and takes the comms role"
    )


@pytest.mark.parametrize(
    "mark", [lifecycle.mark_notified, lifecycle.mark_reviewed], ids=["notify", "review"]
)
def test_notes_of_steps_5_and_6_are_trimmed_and_blank_is_none(mark: Any) -> None:
    blank = mark(resolved(), BOB, T2, "   ")
    assert only_step(blank).note is None
    assert ":" not in blank.timeline[0].text.split("done)")[-1]  # no dangling ": "
    padded = mark(resolved(), BOB, T2, "  done by SMS \n")
    assert only_step(padded).note == "done by SMS"
    assert padded.timeline[0].text.endswith(": done by SMS")


def test_review_needs_the_fix_first() -> None:
    with pytest.raises(CommandRefused, match="resolve OOR-7 first"):
        lifecycle.mark_reviewed(incident(), ALICE, T1)


def test_review_after_resolve() -> None:
    change = lifecycle.mark_reviewed(resolved(), CAROL, T2, "add a second channel")
    record = only_step(change)
    assert record.step is Step.REVIEW and record.state is StepState.DONE
    assert (record.completed_at, record.completed_by, record.note) == (
        T2,
        CAROL,
        "add a second channel",
    )
    assert "close" in change.reply
    assert_unchanged(lifecycle.mark_reviewed(applied(resolved(), change), ALICE, T2))


# -- skipping ----------------------------------------------------------------------------------
def test_skip_records_who_when_and_why() -> None:
    change = lifecycle.skip(incident(), ALICE, T1, Step.NOTIFY, "  internal only ")
    record = only_step(change)
    assert record.step is Step.NOTIFY and record.state is StepState.SKIPPED
    assert (record.completed_at, record.completed_by, record.note) == (T1, ALICE, "internal only")
    assert change.timeline[0].text.endswith(": internal only")
    assert_unchanged(lifecycle.skip(applied(incident(), change), BOB, T2, Step.NOTIFY, "again"))


@pytest.mark.parametrize("step", [Step.RESPOND, Step.RESOLVE])
def test_respond_and_resolve_cannot_be_skipped(step: Step) -> None:
    with pytest.raises(CommandRefused, match="cannot be skipped"):
        lifecycle.skip(incident(), ALICE, T1, step, "no time")


def test_a_done_step_cannot_be_skipped() -> None:
    snap = with_step(incident(), Step.RECORD, state=StepState.DONE)
    with pytest.raises(CommandRefused, match="already done"):
        lifecycle.skip(snap, ALICE, T1, Step.RECORD, "whatever")


def test_skip_needs_a_reason() -> None:
    with pytest.raises(CommandRefused, match="Give a reason"):
        lifecycle.skip(incident(), ALICE, T1, Step.REVIEW, " ")


# -- roles, severity, notes ---------------------------------------------------------------------
def test_assign_names_the_new_and_previous_holder_as_people_not_markup() -> None:
    snap = incident(roles={Role.COMMANDER: ALICE})
    change = lifecycle.assign(snap, CAROL, T1, Role.COMMANDER, BOB)
    assert change.roles == {Role.COMMANDER: BOB}
    (note,) = change.timeline
    assert note.kind == "role"
    assert note.said == said("made ", Person(BOB), " the commander (was ", Person(ALICE), ")")
    assert note.text == f"made {BOB} the commander (was {ALICE})"
    assert note.facts == {"role": "commander", "person": BOB, "was": ALICE}


def test_assign_a_free_role() -> None:
    change = lifecycle.assign(incident(), ALICE, T1, Role.TECH, BOB)
    assert change.roles == {Role.TECH: BOB}
    assert change.timeline[0].said == said("made ", Person(BOB), " the tech lead")
    assert change.timeline[0].said.people() == (BOB,)


def test_assigning_the_holder_again_changes_nothing() -> None:
    assert_unchanged(
        lifecycle.assign(incident(roles={Role.COMMS: BOB}), ALICE, T1, Role.COMMS, BOB)
    )


def test_change_severity() -> None:
    change = lifecycle.change_severity(incident(), ALICE, T1, Severity.SEV1)
    assert change.incident == {"severity": "sev1"}
    assert change.timeline[0].kind == "severity"
    assert "SEV2 → SEV1" in change.timeline[0].text
    assert_unchanged(lifecycle.change_severity(incident(), ALICE, T1, Severity.SEV2))


def test_a_note_goes_to_the_timeline_only() -> None:
    change = lifecycle.add_note(incident(), ALICE, T1, "  called the bank ")
    (note,) = change.timeline
    assert (note.kind, note.text, note.announce) == ("note", "called the bank", False)
    assert change.steps == () and change.incident == {}


def test_an_empty_note_is_refused() -> None:
    with pytest.raises(CommandRefused, match="Write the note"):
        lifecycle.add_note(incident(), ALICE, T1, "   ")


# -- closing and reopening ----------------------------------------------------------------------
def test_close_needs_the_fix_first() -> None:
    with pytest.raises(CommandRefused, match="not resolved yet"):
        lifecycle.close(incident(), ALICE, T1, force=True)


def test_close_with_steps_5_and_6_open_needs_force() -> None:
    with pytest.raises(CommandRefused, match=r"^⚠️ Step 5 .* and step 6 .* are still open"):
        lifecycle.close(resolved(), ALICE, T2)
    notified = with_step(resolved(), Step.NOTIFY, state=StepState.DONE)
    with pytest.raises(CommandRefused, match=r"Step 6 .* is still open.*--force"):
        lifecycle.close(notified, ALICE, T2)


def test_forced_close_says_what_was_left_open() -> None:
    change = lifecycle.close(resolved(), ALICE, T2, force=True)
    assert change.incident == {"status": "closed", "closed_at": T2}
    (note,) = change.timeline
    assert note.kind == "status" and "still open" in note.text and "step 5" in note.text


def test_close_when_steps_5_and_6_are_done_or_skipped() -> None:
    snap = with_step(resolved(), Step.NOTIFY, state=StepState.SKIPPED)
    snap = with_step(snap, Step.REVIEW, state=StepState.DONE)
    change = lifecycle.close(snap, ALICE, T2)
    assert change.incident == {"status": "closed", "closed_at": T2}
    assert change.timeline[0].text == "closed the incident"
    assert_unchanged(lifecycle.close(applied(snap, change), ALICE, T2))


@pytest.mark.parametrize(
    "command",
    [
        lambda s: lifecycle.acknowledge(s, BOB, T2),
        lambda s: lifecycle.record(s, BOB, T2, RecordedFacts(merchant_id="M-1")),
        lambda s: lifecycle.add_finding(s, BOB, T2, "late finding"),
        lambda s: lifecycle.finish_investigation(s, BOB, T2),
        lambda s: lifecycle.resolve(s, BOB, T2, "again"),
        lambda s: lifecycle.mark_notified(s, BOB, T2),
        lambda s: lifecycle.mark_reviewed(s, BOB, T2),
        lambda s: lifecycle.skip(s, BOB, T2, Step.NOTIFY, "no"),
        lambda s: lifecycle.assign(s, BOB, T2, Role.TECH, CAROL),
        lambda s: lifecycle.change_severity(s, BOB, T2, Severity.SEV1),
    ],
)
def test_a_closed_incident_refuses_changes(command: Any) -> None:
    with pytest.raises(CommandRefused, match=r"OOR-7 is closed.*reopen"):
        command(closed())


@pytest.mark.parametrize("snapshot", [resolved, closed])
def test_reopen_resets_the_fix_and_arms_a_new_round(snapshot: Any) -> None:
    before = snapshot()
    change = lifecycle.reopen(before, BOB, T2)
    record = only_step(change)
    assert record.step is Step.RESOLVE and record.state is StepState.PENDING
    assert (record.started_at, record.started_by, record.completed_at, record.completed_by) == (
        None,
        None,
        None,
        None,
    )
    assert change.incident == {
        "status": "open",
        "resolved_at": None,
        "closed_at": None,
        "generation": before.generation + 1,
        "reopened_at": T2,
    }
    assert change.timeline[0].kind == "status"
    again = applied(before, change)
    assert_unchanged(lifecycle.reopen(again, BOB, T2))
    # Resolving again is a new resolution, not a repeat of the old one.
    assert lifecycle.resolve(again, BOB, T2, "another fix").changed


def test_the_whole_flow_in_order() -> None:
    snap = incident()
    commands = [
        lambda s: lifecycle.acknowledge(s, ALICE, T0),
        lambda s: lifecycle.record(s, ALICE, T0, RecordedFacts(merchant_id="M-1")),
        lambda s: lifecycle.add_finding(s, BOB, T1, "timeouts"),
        lambda s: lifecycle.resolve(s, BOB, T1, "fixed"),
        lambda s: lifecycle.mark_notified(s, CAROL, T2),
        lambda s: lifecycle.mark_reviewed(s, ALICE, T2),
        lambda s: lifecycle.close(s, ALICE, T2),
    ]
    for command in commands:
        snap = applied(snap, command(snap))
    assert snap.status is IncidentStatus.CLOSED
    assert {r.state for r in snap.steps} == {StepState.DONE}
    assert snap.roles == {Role.COMMANDER: ALICE, Role.TECH: BOB, Role.COMMS: CAROL}


def test_whoever_first_does_a_roles_work_holds_the_role() -> None:
    # The first to investigate or resolve is the tech lead, the first to notify is on comms.
    found = lifecycle.add_finding(incident(), BOB, T1, "CHANNEL_BLOCKED from the acquirer")
    assert found.roles == {Role.TECH: BOB}
    assert found.timeline[0].text.endswith("in progress) and takes the tech lead role")
    assert lifecycle.finish_investigation(incident(), BOB, T1).roles == {Role.TECH: BOB}
    resolved = lifecycle.resolve(incident(), CAROL, T1, "switched acquirer")
    assert resolved.roles == {Role.TECH: CAROL}
    assert lifecycle.start_step(incident(), CAROL, T1, Step.NOTIFY).roles == {Role.COMMS: CAROL}
    assert lifecycle.mark_notified(incident(), CAROL, T1).roles == {Role.COMMS: CAROL}
    assert lifecycle.start_step(incident(), CAROL, T1, Step.REVIEW).roles == {}


def test_a_held_role_is_not_taken_over_by_doing_its_work() -> None:
    held = incident(roles={Role.TECH: ALICE, Role.COMMS: ALICE})
    resolved = lifecycle.resolve(held, BOB, T1, "restarted the gateway")
    assert resolved.roles == {}
    assert "takes" not in resolved.timeline[0].text
    assert lifecycle.mark_notified(held, BOB, T1).roles == {}
    assert lifecycle.add_finding(held, BOB, T1, "disk full").roles == {}
