"""Paging: wake the person on call (issue 13). The port (port.py) and its adapters
(bot/pagerduty/ for PagerDuty, signed_webhook.py for any other pager)."""

from bot.paging.feature import install

__all__ = ["install"]
