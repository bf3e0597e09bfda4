"""The status of one public update, from its words.

Status-page templates start the body with the status (``Investigating – …``,
``【处理中】…``), and whoever edits a draft before approving it can write another one
(``Monitoring – …``, ``【监控中】…``). An update without a recognised label takes its
status from the incident at approval time: resolved if it was, identified once the
investigation was done, else investigating.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from bot.statuspage.records import ApprovedUpdate, IncidentFacts


class UpdateStatus(StrEnum):
    """Atlassian Statuspage incident statuses (``postmortem`` is not used)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


_ZH_LABELS = {
    "处理中": UpdateStatus.INVESTIGATING,
    "调查中": UpdateStatus.INVESTIGATING,
    "排查中": UpdateStatus.INVESTIGATING,
    "已定位": UpdateStatus.IDENTIFIED,
    "已查明": UpdateStatus.IDENTIFIED,
    "监控中": UpdateStatus.MONITORING,
    "观察中": UpdateStatus.MONITORING,
    "已解决": UpdateStatus.RESOLVED,
    "已恢复": UpdateStatus.RESOLVED,
}
_EN_LABEL = re.compile(
    r"^\s*(investigating|identified|monitoring|resolved)\s*(?:[–—:-]\s*|\n)", re.IGNORECASE
)
_ZH_LABEL = re.compile(r"^\s*【(" + "|".join(_ZH_LABELS) + r")】\s*")


def split_status(body: str) -> tuple[UpdateStatus | None, str]:
    """``"Investigating – Since …"`` -> (investigating, ``"Since …"``); unlabelled text
    is returned whole with ``None``."""
    found = _EN_LABEL.match(body)
    if found:
        return UpdateStatus(found.group(1).lower()), body[found.end() :].lstrip()
    found = _ZH_LABEL.match(body)
    if found:
        return _ZH_LABELS[found.group(1)], body[found.end() :].lstrip()
    return None, body.strip()


def inferred_status(incident: IncidentFacts, at: datetime) -> UpdateStatus:
    if incident.resolved_at is not None and incident.resolved_at <= at:
        return UpdateStatus.RESOLVED
    if incident.investigated_at is not None and incident.investigated_at <= at:
        return UpdateStatus.IDENTIFIED
    return UpdateStatus.INVESTIGATING


def status_and_text(update: ApprovedUpdate, incident: IncidentFacts) -> tuple[UpdateStatus, str]:
    labelled, text = split_status(update.body)
    return labelled or inferred_status(incident, update.approved_at), text
