"""The ``/oor`` words the app understands, each with its handler and help lines.

The core registers the six steps' and the incident's words; each feature registers its
own through :meth:`bot.wiring.Wiring.add_command`. A word (or alias) registered twice is an
error at start-up, not a silent takeover. ``/oor help`` is rendered from the lines
registered here, so an app built with fewer features shows fewer commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.slack.command_parser import ParsedCommand, parse_command
from bot.slack.views import SlackMessage


@dataclass(frozen=True)
class Invocation:
    """Who asked, where, and how Slack lets us open a modal for them."""

    user_id: str
    channel_id: str
    trigger_id: str | None = None
    # Set by board buttons and modals, which name their incident; commands use the channel.
    incident_number: int | None = None


CommandHandler = Callable[[ParsedCommand, Invocation], SlackMessage | None]


class HelpSection(StrEnum):
    STEPS = "steps"  # the plan's six steps, in order
    INCIDENT = "incident"  # everything else about an incident


@dataclass(frozen=True)
class HelpLine:
    """One line of ``/oor help``: ``usage`` after ``/oor``, and what it does."""

    usage: str
    text: str
    section: HelpSection = HelpSection.INCIDENT
    # Position within the section (the steps use their step number): lines from several
    # features interleave in a fixed order whatever order the features install in.
    order: float = 50.0


class DuplicateCommand(ValueError):
    """Two handlers for one ``/oor`` word: the second would silently take the first's."""


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # the canonical word first, then its aliases
    handler: CommandHandler
    help: tuple[HelpLine, ...]


class CommandTable:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}  # by canonical word
        self._words: dict[str, str] = {}  # every word and alias, lower case -> canonical

    def add(
        self, words: Iterable[str], handler: CommandHandler, help: Iterable[HelpLine] = ()
    ) -> None:
        command = Command(tuple(words), handler, tuple(help))
        if not command.words:
            raise ValueError("a command needs at least one word")
        lowered = [w.lower() for w in command.words]
        taken = [w for w in lowered if w in self._words]
        if taken or len(set(lowered)) != len(lowered):
            raise DuplicateCommand(
                f"/oor {', '.join(taken or lowered)}: the word is registered twice"
            )
        canonical = lowered[0]
        self._commands[canonical] = command
        for word in lowered:
            self._words[word] = canonical

    @property
    def words(self) -> Mapping[str, str]:
        """Every word and alias -> its canonical word."""
        return dict(self._words)

    def parse(self, text: str) -> ParsedCommand | None:
        return parse_command(text, self._words)

    def handler(self, word: str) -> CommandHandler | None:
        command = self._commands.get(word)
        return command.handler if command else None

    def help_lines(self, section: HelpSection) -> list[HelpLine]:
        lines = [
            line for c in self._commands.values() for line in c.help if line.section is section
        ]
        return sorted(lines, key=lambda line: line.order)  # stable: registration order ties

    def aliases(self) -> list[tuple[str, str]]:
        """(alias, word) for the steps' commands: the first alias not in ASCII (Chinese)."""
        shown: list[tuple[float, str, str]] = []
        for canonical, command in self._commands.items():
            steps = [line.order for line in command.help if line.section is HelpSection.STEPS]
            alias = next((w for w in command.words if not w.isascii()), None)
            if steps and alias is not None:
                shown.append((min(steps), alias, canonical))
        return [(alias, word) for _order, alias, word in sorted(shown, key=lambda s: s[0])]
