"""What the bot says, as data: sentences made of text and people, rendered by each surface.

The domain and the services never write display markup. A timeline entry, a reply or a
refusal that names someone holds a :class:`Person` part; Slack renders it as a mention,
the post-mortem and the CLI as the person's name (or id where no name is known), the read
API as the id. Text parts are outside text or the bot's own words, always plain: each
surface escapes them its own way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# A chat platform's user id as Slack writes them (U… for people, W… in Enterprise Grid).
# The one definition: plan references, timeline actors and post-mortem people all use it.
USER_ID_PATTERN = re.compile(r"[UW][A-Z0-9]+")


def is_user_id(text: str | None) -> bool:
    """Whether ``text`` is a person's id (``U01ALICE``) rather than a system's name."""
    return bool(text) and USER_ID_PATTERN.fullmatch(text or "") is not None


@dataclass(frozen=True)
class Person:
    """Someone named in a sentence, by their platform id."""

    id: str


Part = str | Person


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Sentence:
    """Text and people in order. Build with :func:`said`; adjacent text parts are merged."""

    parts: tuple[Part, ...] = ()

    def __add__(self, other: Part | Sentence) -> Sentence:
        return said(self, other)

    def __bool__(self) -> bool:
        return any(isinstance(p, Person) or p for p in self.parts)

    def __str__(self) -> str:
        return self.plain()

    def people(self) -> tuple[str, ...]:
        """The ids of the people named, in order, each once."""
        return tuple(dict.fromkeys(p.id for p in self.parts if isinstance(p, Person)))

    def render(self, person: Callable[[str], str], text: Callable[[str], str] = _identity) -> str:
        """The sentence on a surface: ``person`` shows an id, ``text`` a text part."""
        return "".join(person(p.id) if isinstance(p, Person) else text(p) for p in self.parts)

    def plain(self, names: Mapping[str, str] | None = None) -> str:
        """Plain text: people by name where ``names`` knows them, else by id."""
        known = names or {}
        return self.render(lambda user: known.get(user) or user)

    def to_json(self) -> list[str | dict[str, str]]:
        """``["made ", {"person": "U1"}, " the tech lead"]``: what storage and the API keep."""
        return [{"person": p.id} if isinstance(p, Person) else p for p in self.parts]

    @classmethod
    def from_json(cls, data: Iterable[Any]) -> Sentence:
        parts: list[Part] = []
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("person"), str):
                parts.append(Person(item["person"]))
            else:
                parts.append(str(item))
        return said(*parts)


def said(*pieces: Part | Sentence | None) -> Sentence:
    """A sentence of text, people and other sentences (``None`` and ``""`` are left out)."""
    parts: list[Part] = []
    for piece in pieces:
        for part in piece.parts if isinstance(piece, Sentence) else (piece,):
            if part is None or part == "":
                continue
            if isinstance(part, str) and parts and isinstance(parts[-1], str):
                parts[-1] += part
            else:
                parts.append(part)
    return Sentence(tuple(parts))


def clip(sentence: Sentence, limit: int, ellipsis: str = "…") -> Sentence:
    """At most ``limit`` characters of text (people count as one); ``…`` when cut."""
    if sum(1 if isinstance(p, Person) else len(p) for p in sentence.parts) <= limit:
        return sentence
    budget = max(0, limit - len(ellipsis))
    kept: list[Part] = []
    for part in sentence.parts:
        size = 1 if isinstance(part, Person) else len(part)
        if size > budget:
            if isinstance(part, str):
                kept.append(part[:budget])
            break
        kept.append(part)
        budget -= size
    return said(*kept, ellipsis)


@dataclass(frozen=True)
class TimelineNote:
    """A timeline entry to store: its kind, what it says and its typed facts (the step
    and its new state, the role and the person given it, the values changed). The actor
    and the time are the transaction's."""

    kind: str
    said: Sentence
    # Post it as a one-line message in the incident room too (step changes do).
    announce: bool = True
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """What it says as plain text, people by id."""
        return self.said.plain()
