"""The page's rules as plain data: update statuses from their words, planned maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale
from bot.domain.plan_status_page import ComponentStatus, Maintenance
from bot.domain.types import IncidentStatus, OorType, Severity
from bot.statuspage.page import MaintenancePhase, build_page
from bot.statuspage.records import IncidentFacts, PageRecords
from bot.statuspage.updates import UpdateStatus, inferred_status, split_status

T0 = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ("Investigating – Since 12:30 …", UpdateStatus.INVESTIGATING, "Since 12:30 …"),
        ("identified: the cause", UpdateStatus.IDENTIFIED, "the cause"),
        ("Monitoring - watching", UpdateStatus.MONITORING, "watching"),
        ("【处理中】部分支付宝支付失败", UpdateStatus.INVESTIGATING, "部分支付宝支付失败"),
        ("【已定位】原因已查明", UpdateStatus.IDENTIFIED, "原因已查明"),
        ("【监控中】正在观察", UpdateStatus.MONITORING, "正在观察"),
        ("【已解决】已恢复", UpdateStatus.RESOLVED, "已恢复"),
        ("We are resolved to fix it", None, "We are resolved to fix it"),
        ("Resolvedly – no", None, "Resolvedly – no"),
    ],
)
def test_an_updates_status_comes_from_its_first_words(
    body: str, status: UpdateStatus | None, text: str
) -> None:
    assert split_status(body) == (status, text)


def _incident(**changes: object) -> IncidentFacts:
    values: dict[str, object] = {
        "number": 7,
        "type": OorType.PAYMENT_FAILURE,
        "severity": Severity.SEV2,
        "status": IncidentStatus.OPEN,
        "payment_method": "unionpay",
        "opened_at": T0,
        "resolved_at": None,
        "investigated_at": None,
        "updated_at": T0,
    }
    values.update(changes)
    return IncidentFacts(**values)  # type: ignore[arg-type]


def test_unlabelled_words_take_the_incidents_state_at_approval() -> None:
    incident = _incident(
        investigated_at=T0 + timedelta(minutes=10), resolved_at=T0 + timedelta(minutes=30)
    )
    assert inferred_status(incident, T0 + timedelta(minutes=5)) is UpdateStatus.INVESTIGATING
    assert inferred_status(incident, T0 + timedelta(minutes=15)) is UpdateStatus.IDENTIFIED
    assert inferred_status(incident, T0 + timedelta(minutes=30)) is UpdateStatus.RESOLVED


def test_planned_maintenance_is_announced_then_shown(plan: Plan) -> None:
    assert plan.status_page is not None
    window = Maintenance(
        key="unionpay-upgrade",
        title={"zh-CN": "银联通道维护", "en": "UnionPay maintenance"},  # type: ignore[arg-type]
        components=["unionpay", "gateway"],
        starts_at=T0 + timedelta(hours=2),
        ends_at=T0 + timedelta(hours=4),
    )
    section = plan.status_page.model_copy(update={"maintenance": [window]})
    # An open incident on UnionPay: an outage stays an outage during maintenance.
    records = PageRecords(incidents={7: _incident()}, updates=(), installed_at=T0)

    def at(when: datetime) -> dict[str, ComponentStatus]:
        page = build_page(section, records, Locale.EN, when)
        return {c.key: c.status for c in page.components}

    ahead = build_page(section, records, Locale.EN, T0)
    [announced] = ahead.maintenance
    assert announced.phase is MaintenancePhase.SCHEDULED
    assert announced.name == "UnionPay maintenance"
    assert at(T0)["gateway"] is ComponentStatus.OPERATIONAL

    during = at(T0 + timedelta(hours=3))
    assert during["gateway"] is ComponentStatus.UNDER_MAINTENANCE
    assert during["unionpay"] is ComponentStatus.PARTIAL_OUTAGE
    assert during["alipay"] is ComponentStatus.OPERATIONAL

    after = build_page(section, records, Locale.EN, T0 + timedelta(hours=4))
    assert after.maintenance == ()
    assert {c.key: c.status for c in after.components}["gateway"] is ComponentStatus.OPERATIONAL
