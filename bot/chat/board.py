"""Lines a feature adds to the status board ("board facts from features").

The board is the core's message (:data:`bot.chat.messages.BOARD`); a feature that knows
something responders should see at a glance (who is on call now, say) registers a
:data:`BoardLineSource` through ``Wiring.add_board_lines``. Each source is asked, whenever
the board is rendered, for the lines of one incident. A line is a title and a records
sentence (bot/domain/records.py: plain text and chat people): the platform's renderer
escapes the text and shows the people its own way (Slack: mentions), so no source writes
display markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from bot.domain.incident import IncidentSnapshot
from bot.domain.records import Sentence

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BoardLine:
    """One line on the board: a bold ``title`` and what follows it."""

    title: str
    said: Sentence

    @property
    def plain(self) -> str:
        """The line as plain text (people as their ids): logs, tests, other platforms."""
        return f"{self.title}: {self.said.plain()}"


BoardLineSource = Callable[[IncidentSnapshot], Sequence[BoardLine]]


class BoardLines:
    """The registered sources, asked in registration order. A source that fails leaves
    its lines out of this rendering (logged): the board itself must always update."""

    def __init__(self) -> None:
        self._sources: list[BoardLineSource] = []

    def add(self, source: BoardLineSource) -> None:
        self._sources.append(source)

    def __call__(self, incident: IncidentSnapshot) -> list[BoardLine]:
        lines: list[BoardLine] = []
        for source in self._sources:
            try:
                lines.extend(source(incident))
            except Exception as exc:  # a feature's database read failed: the board goes on
                log.warning(
                    "board_lines_failed",
                    incident=incident.number,
                    error=f"{type(exc).__name__}: {exc}",
                )
        return lines


__all__ = ["BoardLine", "BoardLineSource", "BoardLines"]
