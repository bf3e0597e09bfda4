"""The sandbox page's PagerDuty panel: the pages the emulated PagerDuty holds (triggered,
acknowledged, resolved) and "Acknowledge in PagerDuty", as the person chosen on the page
would from PagerDuty's phone app. The emulator then delivers a signed Webhooks v3
``incident.acknowledged`` to the bot's ``/webhooks/pagerduty`` (the real path).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.emulator import Emulator
from bot.sandbox.pagerduty import PagerDutyEmulator
from bot.sandbox.ui.session import Outcome, SandboxError

JSON = dict[str, Any]
STATUS_ICON = {"triggered": "🔔", "acknowledged": "👀", "resolved": "✅"}
MAX_SHOWN = 20


class PagerPanel:
    def __init__(self, slack: Emulator, pagerduty: PagerDutyEmulator | None, tz: ZoneInfo):
        self._slack = slack
        self._pd = pagerduty
        self._tz = tz

    def view_model(self) -> JSON:
        """``{"enabled": bool, "pages": [...]}``, newest page first."""
        if self._pd is None:
            return {"enabled": False, "pages": [], "retrying": 0}
        names = {u.id: u.name for u in self._pd.users.values()}
        shown = []
        for page in reversed(self._pd.pages[-MAX_SHOWN:]):
            by = page.acknowledged_by if page.status == "acknowledged" else page.resolved_by
            shown.append(
                {
                    "id": page.id,
                    "number": page.number,
                    "summary": page.summary,
                    "severity": page.severity,
                    "status": page.status,
                    "icon": STATUS_ICON.get(page.status, "•"),
                    "dedup_key": page.dedup_key,
                    "at": page.created_at.astimezone(self._tz).strftime("%H:%M:%S"),
                    "by": names.get(by or "", by) if by else None,
                    "can_ack": page.status == "triggered",
                }
            )
        return {"enabled": True, "pages": shown, "retrying": len(self._pd.waiting())}

    def acknowledge(self, body: JSON) -> Outcome:
        """``{"page": id, "user": Slack user id}``: that person acknowledges the page in
        PagerDuty (found there by the email the Slack workspace has for them)."""
        if self._pd is None:
            raise SandboxError("PagerDuty is not emulated here (OOR_PAGERDUTY_API_TOKEN is set)")
        page_id, user_id = str(body.get("page") or ""), str(body.get("user") or "")
        users = {u["id"]: u for u in self._slack.snapshot()["users"]}
        email = (users.get(user_id) or {}).get("profile", {}).get("email")
        if not email:
            raise SandboxError(f"no email for {user_id or 'nobody'} in the workspace")
        try:
            page = self._pd.page(page_id)
        except KeyError:
            raise SandboxError(f"no page {page_id}") from None
        if page.status != "triggered":
            return Outcome(False, f"Page #{page.number} is {page.status} already.")
        try:
            deliveries = self._pd.acknowledge_from_phone(page.id, email)
        except KeyError:
            raise SandboxError(f"{email} has no PagerDuty account") from None
        if not deliveries:  # an earlier webhook of this page is still being retried
            return Outcome(True, f"Acknowledged page #{page.number}; the webhook waits its turn")
        answers = ", ".join(
            f"HTTP {d.status}" if d.status is not None else str(d.error) for d in deliveries
        )
        delivered = all(d.delivered for d in deliveries)
        return Outcome(
            delivered,
            f"Acknowledged page #{page.number} in PagerDuty as {email}; webhook: {answers}",
        )


__all__ = ["PagerPanel"]
