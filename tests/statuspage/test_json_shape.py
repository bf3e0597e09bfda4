"""The JSON is the Atlassian Statuspage public v2 shape that widgets already read.

Reference: tests/fixtures/statuspage/example_payloads.json (copied from
shared/reference/statuspage, synthetic, ours; see the README beside it). Every field of
the examples must be present in our documents with the same JSON type (``null`` where the
example has ``null`` may be any type: Statuspage leaves those optional).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.plan import Plan
from tests.statuspage.harness import StatusBot, status_bot

FIXTURE = Path(__file__).parents[1] / "fixtures" / "statuspage" / "example_payloads.json"
EXAMPLES: dict[str, Any] = {
    name: value
    for name, value in json.loads(FIXTURE.read_text(encoding="utf-8")).items()
    if not name.startswith("_")
}


def shape_problems(example: Any, ours: Any, path: str = "$") -> list[str]:
    if example is None:
        return []
    if isinstance(example, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected an object, got {type(ours).__name__}"]
        problems = []
        for key, value in example.items():
            if key not in ours:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += shape_problems(value, ours[key], f"{path}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(ours, list):
            return [f"{path}: expected a list, got {type(ours).__name__}"]
        if not example:
            return []
        # Each of ours against the example item of its kind (a group component has more).
        problems = []
        for index, item in enumerate(ours):
            model = next((e for e in example if _same_kind(e, item)), None)
            if model is None:  # e.g. only grouped components in the example: not a group
                model = {**example[-1], "group_id": None}
            problems += shape_problems(model, item, f"{path}[{index}]")
        return problems
    if type(example) is not type(ours):
        return [f"{path}: expected {type(example).__name__}, got {type(ours).__name__}"]
    return []


def _same_kind(example: Any, item: Any) -> bool:
    """Components come in three kinds: a group, one inside a group, one on its own."""
    if isinstance(example, dict) and isinstance(item, dict) and "group" in example:
        return bool(example["group"]) == bool(item.get("group")) and (
            example.get("group_id") is None
        ) == (item.get("group_id") is None)
    return True


def busy_page(bot: StatusBot) -> None:
    """One resolved incident, one still open with two updates, one not announced."""
    done = bot.fire(details={"payment_method": "wechat_pay"})
    bot.publish(done)
    bot.resolve(done)
    bot.publish(done)
    bot.clock.advance(minutes=30)
    open_one = bot.fire()
    bot.publish(open_one)
    bot.clock.advance(minutes=5)
    bot.publish(open_one, body="Identified – The channel is fixed on our side.")
    bot.fire(type="transaction_interruption", details={})


def test_every_example_field_is_there_with_its_type(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        busy_page(bot)
        for name, example in EXAMPLES.items():
            ours = bot.json(name)
            assert shape_problems(example, ours) == [], name
            # Our lists are not empty where the example's are not (the check means something).
            for key in ("components", "incidents"):
                if example.get(key):
                    assert ours[key], (name, key)


def test_the_shape_check_can_fail() -> None:
    summary = EXAMPLES["summary.json"]
    broken = json.loads(json.dumps(summary))
    del broken["incidents"][0]["incident_updates"][0]["display_at"]
    broken["components"][1]["position"] = "1"
    assert shape_problems(summary, broken) == [
        "$.components[1].position: expected int, got str",
        "$.incidents[0].incident_updates[0].display_at: missing",
    ]


@dataclass(frozen=True)
class WidgetView:
    """What a typical status widget shows: the overall line, the broken components and the
    open incidents' latest words."""

    indicator: str
    headline: str
    broken: dict[str, str]
    latest: dict[str, str]


def read_like_a_widget(summary: dict[str, Any]) -> WidgetView:
    """A small reader written as widget authors write them, from the public v2 fields."""
    components = summary["components"]
    incidents = summary["incidents"]
    latest = {}
    for incident in incidents:
        updates = sorted(incident["incident_updates"], key=lambda u: u["display_at"])
        latest[incident["name"]] = f"{updates[-1]['status']}: {updates[-1]['body']}"
    return WidgetView(
        indicator=summary["status"]["indicator"],
        headline=summary["status"]["description"],
        broken={c["name"]: c["status"] for c in components if c["status"] != "operational"},
        latest=latest,
    )


def test_a_widget_reads_the_summary(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        busy_page(bot)
        view = read_like_a_widget(bot.json("summary.json"))
        assert view.indicator == "major" and view.headline == "Partial System Outage"
        assert view.broken == {"Alipay": "partial_outage", "Payment gateway": "partial_outage"}
        assert view.latest == {
            "Some Alipay payments failing": "identified: The channel is fixed on our side."
        }
        # The reference's own example reads the same way.
        example = read_like_a_widget(EXAMPLES["summary.json"])
        assert example.broken == {
            "Card Payments": "partial_outage",
            "Authorisation": "partial_outage",
        }


def test_planned_maintenance_in_the_json(sqlite_url: str, plan: Plan) -> None:
    from datetime import timedelta

    from bot.domain.plan_status_page import Maintenance
    from tests.statuspage.harness import START

    window = Maintenance(
        key="unionpay-upgrade",
        title={"zh-CN": "银联通道维护", "en": "UnionPay maintenance"},  # type: ignore[arg-type]
        components=["unionpay"],
        starts_at=START + timedelta(hours=1),
        ends_at=START + timedelta(hours=2),
    )
    with status_bot(sqlite_url, plan, maintenance=[window]) as bot:
        [upcoming] = bot.json("scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
        model = EXAMPLES["incidents/unresolved.json"]["incidents"][0]
        assert shape_problems(model, upcoming) == []
        assert upcoming["status"] == "scheduled" and upcoming["impact"] == "maintenance"
        assert upcoming["scheduled_for"] == "2026-11-20T13:30:00.000+08:00"
        assert upcoming["scheduled_until"] == "2026-11-20T14:30:00.000+08:00"
        assert bot.json("scheduled-maintenances/active.json")["scheduled_maintenances"] == []
        assert len(bot.json("summary.json")["scheduled_maintenances"]) == 1
        assert "UnionPay maintenance" in bot.get("/status?lang=en").text

        bot.clock.advance(hours=1, minutes=30)
        [active] = bot.json("scheduled-maintenances/active.json")["scheduled_maintenances"]
        assert active["status"] == "in_progress"
        assert bot.component("unionpay") == "under_maintenance"
        assert bot.json("status.json")["status"]["indicator"] == "maintenance"

        bot.clock.advance(hours=1)
        assert bot.json("scheduled-maintenances.json")["scheduled_maintenances"] == []
        assert bot.component("unionpay") == "operational"
