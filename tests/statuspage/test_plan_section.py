"""The plan's ``status_page`` section: what it means, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.domain.plan import PlanError
from bot.domain.plan_file import plan_from_data
from bot.domain.plan_sections import Locale
from bot.domain.plan_status_page import ComponentStatus
from bot.domain.types import OorType, Severity
from tests.support import EXAMPLE_PLAN


def _plan_with(section: dict[str, Any]) -> Any:
    with open(EXAMPLE_PLAN, encoding="utf-8") as file:
        data = yaml.safe_load(file)
    data["status_page"] = section
    return plan_from_data(data)


def _problems(section: dict[str, Any]) -> list[str]:
    with pytest.raises(PlanError) as caught:
        _plan_with(section)
    return caught.value.problems


MINIMAL = {"title": "Pay status", "components": [{"key": "alipay", "name": "Alipay"}]}


def test_the_example_plan_maps_methods_to_components(plan: Any) -> None:
    section = plan.status_page
    assert section is not None
    assert section.components_for(OorType.PAYMENT_FAILURE, "Alipay") == ["alipay"]
    assert section.components_for(OorType.PAYMENT_FAILURE, "card") == ["unionpay"]
    # No method, or one no component lists: the gateway.
    assert section.components_for(OorType.PAYMENT_FAILURE, None) == ["gateway"]
    assert section.components_for(OorType.AMOUNT_ERROR, "paypal") == ["gateway"]
    # A crash takes everything down, whatever its method.
    assert len(section.components_for(OorType.SYSTEM_CRASH, "alipay")) == 5
    assert section.status_for(OorType.PAYMENT_FAILURE, Severity.SEV2) is (
        ComponentStatus.PARTIAL_OUTAGE
    )
    assert section.status_for(OorType.PAYMENT_FAILURE, Severity.SEV1) is (
        ComponentStatus.MAJOR_OUTAGE
    )
    # The plan's override of one cell; the rest of the row keeps the defaults.
    assert section.status_for(OorType.TRANSACTION_INTERRUPTION, Severity.SEV3) is (
        ComponentStatus.PARTIAL_OUTAGE
    )
    assert section.status_for(OorType.TRANSACTION_INTERRUPTION, Severity.SEV4) is (
        ComponentStatus.DEGRADED_PERFORMANCE
    )
    assert section.title.get(Locale.EN) == "Example Pay service status"
    assert section.title.get(Locale.ZH_CN) == "某某支付 服务状态"


def test_a_plain_string_serves_both_languages() -> None:
    plan = _plan_with(MINIMAL)
    assert plan.status_page.components[0].name.get(Locale.ZH_CN) == "Alipay"
    assert plan.status_page.show_unannounced.value == "components"
    assert plan.status_page.history_days == 90


def test_errors_name_the_field() -> None:
    problems = _problems(
        {
            "title": "Pay status",
            "logo_url": "javascript:alert(1)",
            "show_unannounced": "sometimes",
            "components": [
                {"key": "Alipay Main", "name": "Alipay"},
                {"key": "gw", "name": {"fr": "Passerelle"}},
                {"key": "gw", "name": "Gateway"},
            ],
            "default_components": ["gateway"],
            "impact": {"payment_failure": {"sev2": "broken"}},
            "maintenance": [
                {
                    "key": "m1",
                    "title": "Upgrade",
                    "components": ["nope"],
                    "starts_at": "2026-12-06T02:00:00",
                    "ends_at": "2026-12-06T04:00:00+08:00",
                }
            ],
        }
    )
    joined = "\n".join(problems)
    assert "status_page.logo_url: expected an http:// or https:// address" in joined
    assert "status_page.show_unannounced: expected one of components, hidden" in joined
    assert "status_page.components[0].key: lowercase letters" in joined
    assert "status_page.components[1].name.fr: unknown key" in joined
    assert "status_page.impact.payment_failure.sev2: expected one of operational" in joined
    assert "status_page.maintenance[0].starts_at: give the time zone" in joined


def test_references_to_components_are_checked() -> None:
    problems = _problems(
        {
            **MINIMAL,
            "components": [
                {"key": "alipay", "name": "Alipay"},
                {"key": "alipay", "name": "Alipay again"},
            ],
            "default_components": ["gateway"],
        }
    )
    assert "status_page.components[1].key: also components[0]" in problems
    assert (
        "status_page.default_components[0]: no component 'gateway'; expected one of alipay"
        in problems
    )


def test_a_page_needs_components_and_a_title() -> None:
    problems = _problems({"components": []})
    assert "status_page.title: missing" in problems
    assert any(p.startswith("status_page.components: ") for p in problems)


def test_maintenance_must_end_after_it_starts() -> None:
    window = {
        "key": "m1",
        "title": "Upgrade",
        "components": ["alipay"],
        "starts_at": "2026-12-06T04:00:00+08:00",
        "ends_at": "2026-12-06T02:00:00+08:00",
    }
    problems = _problems({**MINIMAL, "maintenance": [window]})
    assert any(
        p.startswith("status_page.maintenance[0]: ") and "ends_at must be after starts_at" in p
        for p in problems
    ), problems


def test_plan_check_lists_the_components(plan: Any) -> None:
    from bot.domain.plan_file import plan_summary

    assert "Status page: alipay, wechat_pay, unionpay, bank_transfer, gateway" in (
        plan_summary(plan).splitlines()
    )
