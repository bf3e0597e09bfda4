"""The status board renders the incident truthfully, within Slack's limits, safely escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.board import BoardLine, BoardLines
from bot.domain.incident import IncidentSnapshot, StepRecord, initial_steps
from bot.domain.plan import Partner, PartnerKind
from bot.domain.records import Person, said
from bot.domain.types import CauseCategory, IncidentStatus, Role, Step, StepState
from bot.slack.views.status_board import board_fallback_text, build_status_board
from tests.slack.views import (
    HOSTILE,
    OPENED,
    TZ,
    assert_escaped,
    assert_within_slack_limits,
    dumped,
    make_incident,
)


def _with_step(state: StepState, step: Step = Step.RESPOND, **extra: Any) -> IncidentSnapshot:
    steps = [StepRecord(step, state, **extra) if r.step is step else r for r in initial_steps()]
    return make_incident(steps=tuple(steps))


def _actions(incident: IncidentSnapshot) -> list[dict[str, Any]]:
    blocks = build_status_board(incident, tz=TZ, now=OPENED).as_args()["blocks"]
    found = [b for b in blocks if b["type"] == "actions"]
    assert len(found) <= 1
    return found[0]["elements"] if found else []


def test_board_shows_the_facts_steps_and_local_times() -> None:
    message = build_status_board(make_incident(), tz=TZ, now=OPENED + timedelta(minutes=12))
    blocks = dumped(message)
    assert message.text.startswith("OOR-42 status board: SEV2 payment failure")
    assert message.text == board_fallback_text(make_incident())
    assert "OOR-42 · Payment failure 支付失败" in blocks
    assert "CNY 1,234.50" in blocks
    assert "2026-11-25 12:30 UTC+8" in blocks  # 04:30 UTC in Shanghai
    assert "Open for 12m" in blocks
    for step in Step:
        assert step.label in blocks and step.label_zh in blocks


def test_done_step_names_who_and_when() -> None:
    incident = _with_step(
        StepState.DONE, completed_at=OPENED + timedelta(minutes=3), completed_by="U01ALICE"
    )
    blocks = dumped(build_status_board(incident, tz=TZ, now=OPENED))
    assert "✅ *1. Rapid response* 快速响应 — done by <@U01ALICE> at 12:33 UTC+8" in blocks


def test_outside_text_is_escaped_and_long_text_fits_slack_limits() -> None:
    incident = make_incident(
        title=HOSTILE,
        description="x" * 5000,
        origin="&" * 5000,
        details={"payment_method": HOSTILE, "merchant_id": "m" * 5000, "error_code": HOSTILE},
    )
    args = build_status_board(incident, tz=TZ, now=OPENED).as_args()
    assert_escaped(str(args["blocks"]))
    assert_within_slack_limits(args["blocks"])


def test_roles_line_mentions_holders_and_dashes_the_rest() -> None:
    incident = make_incident(roles={Role.COMMANDER: "U01ALICE"})
    blocks = dumped(build_status_board(incident, tz=TZ, now=OPENED))
    assert "*Commander* <@U01ALICE> · *Tech lead* — · *Comms* —" in blocks


def test_a_role_holder_that_is_not_a_user_id_is_escaped_not_mentioned() -> None:
    incident = make_incident(roles={Role.TECH: "<!channel>"})
    blocks = dumped(build_status_board(incident, tz=TZ, now=OPENED))
    assert "<!channel>" not in blocks and "*Tech lead* &lt;!channel&gt;" in blocks


def test_buttons_carry_the_incident_number_and_ack_is_primary_while_pending() -> None:
    elements = _actions(make_incident())
    assert [e["action_id"] for e in elements] == [
        "board_ack",
        "board_record",
        "board_resolve",
        "board_notify",
        "board_review",
    ]
    assert [e["text"]["text"] for e in elements] == [
        "Acknowledge",
        "Record",
        "Resolve",
        "Notify",
        "Review",
    ]
    assert {e["value"] for e in elements} == {"42"}
    assert elements[0]["style"] == "primary"
    assert all("style" not in e for e in elements[1:])
    blocks = build_status_board(make_incident(), tz=TZ, now=OPENED).as_args()["blocks"]
    assert [b.get("block_id") for b in blocks if b["type"] == "actions"] == ["board_actions"]


def test_acknowledge_disappears_once_step_one_is_done_or_skipped() -> None:
    for state in (StepState.DONE, StepState.SKIPPED):
        ids = [e["action_id"] for e in _actions(_with_step(state, completed_by="U01ALICE"))]
        assert ids == ["board_record", "board_resolve", "board_notify", "board_review"]
    in_progress = _actions(_with_step(StepState.IN_PROGRESS, started_at=OPENED))
    assert in_progress[0]["action_id"] == "board_ack" and "style" not in in_progress[0]


def test_closed_incident_has_no_buttons_and_resolved_shows_the_resolution() -> None:
    resolved = make_incident(
        status=IncidentStatus.RESOLVED,
        resolved_at=OPENED + timedelta(hours=1),
        resolution_summary="Rerouted to backup acquirer " + HOSTILE,
        cause_category=CauseCategory.CHANNEL_BLOCKED,
    )
    message = build_status_board(resolved, tz=TZ, now=OPENED + timedelta(hours=2))
    blocks = dumped(message)
    assert "Rerouted to backup acquirer" in blocks
    assert "Payment channel blocked 支付通道被封" in blocks
    assert "resolved at 2026-11-25 13:30 UTC+8" in blocks
    assert "Resolved after 1h" in blocks and "Open for" not in blocks
    assert_escaped(blocks)
    assert _actions(resolved)  # resolved but not closed: buttons stay
    closed = make_incident(status=IncidentStatus.CLOSED, resolution_summary="Fixed")
    assert _actions(closed) == []
    assert "Fixed" in dumped(build_status_board(closed, tz=TZ, now=OPENED))
    assert "Resolution" not in dumped(build_status_board(make_incident(), tz=TZ, now=OPENED))


def test_partners_are_listed_compactly_escaped_and_capped() -> None:
    partners = [
        Partner(name=f"Bank {i}", kind=PartnerKind.BANK, phone=f"+86 10 {i}") for i in range(11)
    ]
    partners[0] = Partner(
        name=HOSTILE, kind=PartnerKind.ACQUIRER, contact="Li Wei", email="ops@acq.example"
    )
    message = build_status_board(make_incident(), tz=TZ, now=OPENED, partners=partners)
    blocks = dumped(message)
    assert "Partners 合作伙伴" in blocks
    assert "(acquirer) · Contact: Li Wei · ✉ ops@acq.example" in blocks
    assert "*Bank 7* (bank) · ☎ +86 10 7" in blocks and "Bank 8" not in blocks
    assert "and 3 more" in blocks
    assert_escaped(blocks)
    assert "Partners" not in dumped(build_status_board(make_incident(), tz=TZ, now=OPENED))


def test_huge_partner_notes_and_skip_reasons_stay_within_limits() -> None:
    partners = [Partner(name="P" * 3000, contact="c" * 3000) for _ in range(8)]
    steps = tuple(StepRecord(s, StepState.SKIPPED, note="n" * 5000) for s in Step)
    incident = make_incident(steps=steps, roles=dict.fromkeys(Role, "U01ALICE"))
    args = build_status_board(incident, tz=TZ, now=OPENED, partners=partners).as_args()
    assert_within_slack_limits(args["blocks"])
    assert all(f"{s.number}. {s.label}" in str(args["blocks"]) for s in Step)


# -- outside URLs (issue 10): one whole link, or a pointer to it, never over 3,000 ---------
def _context(message: Any) -> list[str]:
    (context,) = [b for b in message.as_args()["blocks"] if b["type"] == "context"]
    return [str(e["text"]) for e in context["elements"]]


def _links(texts: list[str]) -> list[str]:
    return re.findall(r"<([^<>]*)>", " ".join(texts))


def test_a_pipe_or_angle_bracket_in_an_alert_url_keeps_it_one_link() -> None:
    url = "https://grafana.example.com/d/x?q=a|b&r=<c> d"
    message = build_status_board(make_incident(url=url), tz=TZ, now=OPENED)
    (alert,) = [link for link in _links(_context(message)) if link.endswith("|Alert source")]
    target = alert.removesuffix("|Alert source")
    assert target == "https://grafana.example.com/d/x?q=a%7Cb&amp;r=%3Cc%3E%20d"
    assert "|" not in target
    assert_within_slack_limits(message.as_args()["blocks"])


def test_a_long_url_that_fits_stays_a_working_link() -> None:
    # Alertmanager's generatorURL embeds the PromQL query: 2,300 characters is normal.
    url = "http://prometheus.example:9090/graph?g0.expr=" + "rate%28x%5B5m%5D%29" * 150
    assert 2800 < len(url) < 2990
    runbook = "https://wiki.example.com/runbooks/" + "r" * 2900
    message = build_status_board(make_incident(url=url), tz=TZ, now=OPENED, runbook_url=runbook)
    texts = _context(message)
    assert f"<{url}|Alert source>" in " ".join(texts)
    assert f"<{runbook}|Runbook>" in " ".join(texts)
    assert_within_slack_limits(message.as_args()["blocks"])


def test_a_url_too_long_for_slack_says_where_the_full_link_is() -> None:
    url = "http://prometheus.example:9090/graph?g0.expr=" + "x" * 9700
    message = build_status_board(make_incident(url=url), tz=TZ, now=OPENED)
    texts = _context(message)
    assert_within_slack_limits(message.as_args()["blocks"])  # the context was ~9,700 before
    (alert,) = [t for t in texts if t.startswith("Alert source")]
    assert "http://prometheus.example:9090/graph?g0.expr=xxx" in alert  # where it goes
    assert "`oor-bot incidents show OOR-42`" in alert and "/api/incidents/OOR-42" in alert
    assert not [link for link in _links(texts) if "prometheus" in link]  # no cut link


def test_every_time_shown_renders_even_at_the_ends_of_the_calendar() -> None:
    # 9999-12-31T23:59:59Z has no local time in UTC+8 (OverflowError): the board job of
    # such an incident retried forever and never posted.
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    message = build_status_board(make_incident(occurred_at=last), tz=TZ, now=OPENED)
    assert "9999-12-31 23:59 UTC" in dumped(message)


def test_nul_in_stored_text_never_reaches_slack() -> None:
    message = build_status_board(make_incident(title="Alipay\x00 down"), tz=TZ, now=OPENED)
    assert "\\u0000" not in dumped(message) and "Alipay down" in dumped(message)


def test_monitoring_events_show_the_count_first_and_last_seen_and_the_latest() -> None:
    quiet = dumped(build_status_board(make_incident(), tz=TZ, now=OPENED))
    assert "Monitoring events" not in quiet  # one event: nothing to say
    storm = make_incident(
        event_count=10_001,
        last_event_at=OPENED + timedelta(minutes=3, seconds=20),
        last_event_title=HOSTILE,
    )
    blocks = build_status_board(storm, tz=TZ, now=OPENED).as_args()["blocks"]
    text = dumped(build_status_board(storm, tz=TZ, now=OPENED))
    assert (
        "*Monitoring events 监控事件* 10,001 events · first seen 2026-11-25 12:30 UTC+8"
        " · last seen 12:33 UTC+8\\nLatest: " in text
    )
    assert_escaped(text)
    assert_within_slack_limits(blocks)
    next_day = make_incident(event_count=2, last_event_at=OPENED + timedelta(days=1))
    assert "last seen 2026-11-26 12:30 UTC+8" in dumped(
        build_status_board(next_day, tz=TZ, now=OPENED)
    )


def test_a_feature_s_line_escapes_its_text_and_mentions_only_user_ids() -> None:
    """Board lines from features (bot/chat/board.py): text is outside text (a PagerDuty
    user's name), people are mentions, and an id that is not a Slack user id is text."""
    line = BoardLine(
        "On call now",
        said("schedule P1: ", Person("U02BOB"), ", <!channel> Eve", ", ", Person("<!here>")),
    )
    blocks = dumped(build_status_board(make_incident(), tz=TZ, now=OPENED, lines=[line]))
    assert "*On call now* schedule P1: <@U02BOB>, &lt;!channel&gt; Eve, &lt;!here&gt;" in blocks
    assert "<!channel>" not in blocks and "<!here>" not in blocks


def test_a_failing_board_line_source_leaves_the_others() -> None:
    lines = BoardLines()

    def broken(_incident: IncidentSnapshot) -> list[BoardLine]:
        raise RuntimeError("database down")

    lines.add(broken)
    lines.add(lambda _incident: [BoardLine("On call now", said("nobody"))])
    assert [line.plain for line in lines(make_incident())] == ["On call now: nobody"]
