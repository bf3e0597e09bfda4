"""A private incident's page carries no title and no alert link (issue 14, "Private
incidents": outside its room it shows only what the plan allows)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.incident import IncidentSnapshot
from bot.domain.privacy import PRIVATE_TITLE
from bot.domain.types import IncidentStatus, OorType, Severity
from bot.paging.flows import page_for
from bot.paging.port import PageReason

SECRET = "Refunds doubled for merchant M-777"


def _incident(private: bool) -> IncidentSnapshot:
    return IncidentSnapshot(
        number=7,
        type=OorType.AMOUNT_ERROR,
        title=SECRET,
        severity=Severity.SEV1,
        status=IncidentStatus.OPEN,
        source="native",
        opened_at=datetime(2026, 11, 25, 4, 30, tzinfo=UTC),
        url="https://grafana.example.com/d/refunds?merchant=M-777",
        private=private,
    )


def test_a_private_incidents_page_says_neither_title_nor_alert() -> None:
    page = page_for(_incident(private=True), PageReason.OPENED, None)
    assert page.summary == f"OOR-7 [SEV1] Amount error: {PRIVATE_TITLE}"
    assert "M-777" not in repr(page) and "alert_url" not in page.custom_details
    public = page_for(_incident(private=False), PageReason.OPENED, None)
    assert SECRET in public.summary and "alert_url" in public.custom_details
