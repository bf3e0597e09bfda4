"""Build domain events from native JSON, as the webhook would."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.events import OorEvent
from bot.ingest.native import parse_native


def event_from(payload: dict[str, Any]) -> OorEvent:
    return parse_native(json.dumps(payload).encode())
