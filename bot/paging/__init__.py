"""Paging: wake the person on call (issue 13). The port (port.py) and its adapters
(bot/pagerduty/ for PagerDuty, signed_webhook.py for any other pager); the feature's
``install`` is in feature.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

# The paging tables join the metadata with the app (migration 0011 creates them).
from bot.paging import tables as tables

if TYPE_CHECKING:
    from bot.wiring import Wiring


def install(wiring: Wiring) -> None:
    # Imported here, not at the top: the PagerDuty adapter imports bot.paging's modules,
    # and the feature imports the adapter.
    from bot.paging.feature import install as install_feature

    install_feature(wiring)


__all__ = ["install"]
