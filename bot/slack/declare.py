"""``/oor declare``: opening an incident by hand takes the same path as a webhook event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.clock import Clock
from bot.domain.events import OorEvent
from bot.domain.lifecycle import CommandRefused
from bot.domain.outside_text import is_blank, scrub
from bot.domain.types import OorType, Severity
from bot.incidents.ingest import IngestService, Outcome
from bot.slack.views.declare_modal import build_declare_modal

PRIVATE_FLAG = "--private"
_TYPE_WORDS: dict[str, OorType] = {}
for _t in OorType:
    _TYPE_WORDS[_t.value] = _t
    _TYPE_WORDS[_t.value.replace("_", "-")] = _t
    _TYPE_WORDS[_t.label_zh] = _t


def parse_oor_type(word: str) -> OorType:
    found = _TYPE_WORDS.get(word.strip().lower()) or _TYPE_WORDS.get(word.strip())
    if found is None:
        options = ", ".join(t.value for t in OorType)
        raise CommandRefused(f"Unknown OOR type `{word}`. Use one of: {options}.")
    return found


class DeclareFlow:
    def __init__(self, ingest: IngestService, clock: Clock, on_stored: Callable[[], None]) -> None:
        self._ingest = ingest
        self._clock = clock
        self._on_stored = on_stored

    def modal(self, channel_id: str | None) -> dict[str, Any]:
        return build_declare_modal(channel_id).to_dict()

    def declare(
        self,
        *,
        oor_type: OorType,
        title: str,
        user_id: str,
        dedup_key: str,
        severity: Severity | None = None,
        description: str | None = None,
        private: bool = False,
    ) -> str:
        title = scrub(title.strip())
        if is_blank(title):
            raise CommandRefused("Give the incident a title: `/oor declare <type> <title>`.")
        event = OorEvent(
            source="slack",
            dedup_key=dedup_key,
            type=oor_type,
            title=title[:200],
            severity=severity,
            description=scrub(description[:3000]) if description else None,
            origin=user_id,
            payload={"declared_by": user_id, "title": title[:200]},
            private=private,
        )
        result = self._ingest.ingest([event], now=self._clock.now())
        self._on_stored()
        key = f"OOR-{result.incident_number}"
        if result.outcome is Outcome.DUPLICATE:
            return f"{key} was already declared."
        if private:
            return (
                f"Declared {key} ({oor_type.label.lower()}) as a private incident. Its private "
                "channel is being created; only the plan's responders are invited."
            )
        return (
            f"Declared {key} ({oor_type.label.lower()}). Its channel is being created and "
            "you will be invited with the plan's responders."
        )

    def declare_from_text(
        self, type_word: str, title: str, user_id: str, trigger_id: str | None
    ) -> str:
        if not trigger_id:
            raise CommandRefused("Slack sent no trigger id; try again.")
        # `--private` anywhere among the words (before the type or in the title).
        words = [type_word, *title.split(" ")]
        private = any(w.strip().lower() == PRIVATE_FLAG for w in words)
        words = [w for w in words if w.strip().lower() != PRIVATE_FLAG]
        type_word, title = (words[0], " ".join(words[1:])) if words else ("", "")
        return self.declare(
            oor_type=parse_oor_type(type_word),
            title=title,
            user_id=user_id,
            dedup_key=f"command:{trigger_id}",
            private=private,
        )
