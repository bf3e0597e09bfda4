"""What a post-mortem is made of, as plain values (no Slack, no SQL).

Storage turns ``review_notes``, ``action_item`` and ``postmortem`` rows into these, so the
compile and the views can be tested with hand-built values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# What the review form asks for, in the order it asks: field -> (label, 中文).
NOTE_FIELDS: dict[str, tuple[str, str]] = {
    "what_happened": ("What happened", "经过"),
    "root_cause": ("Root cause", "根本原因"),
    "went_well": ("What went well", "做得好的"),
    "to_improve": ("What to improve", "待改进"),
}


@dataclass(frozen=True)
class ReviewNotes:
    """What only people know, from the review form (step 6). ``None``: not written."""

    what_happened: str | None = None
    root_cause: str | None = None
    went_well: str | None = None
    to_improve: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None

    def text(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class NewActionItem:
    """An action item as someone asks for it (form row or ``/oor actions add``)."""

    text: str
    owner: str | None = None
    due: date | None = None


@dataclass(frozen=True)
class ActionItem:
    number: int  # 1, 2, 3 … within the incident
    text: str
    owner: str | None = None
    due: date | None = None
    done: bool = False
    created_by: str | None = None
    created_at: datetime | None = None
    done_by: str | None = None
    done_at: datetime | None = None

    @property
    def state(self) -> str:
        return "done" if self.done else "open"


@dataclass(frozen=True)
class Postmortem:
    """A compiled post-mortem: the Markdown document and the figures it was built from."""

    markdown: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredPostmortem:
    """One stored version of an incident's post-mortem."""

    id: int
    incident_number: int
    version: int
    markdown: str
    facts: dict[str, Any]
    compiled_by: str
    compiled_at: datetime
    published_by: str | None = None
    published_at: datetime | None = None
    file_id: str | None = None

    @property
    def key(self) -> str:
        return f"OOR-{self.incident_number}"

    @property
    def filename(self) -> str:
        return postmortem_filename(self.incident_number, self.version)


def postmortem_filename(number: int, version: int) -> str:
    """``OOR-42-postmortem-v2.md``: also how a retried upload finds its earlier file."""
    return f"OOR-{number}-postmortem-v{version}.md"


SUMMARY_MESSAGE = "postmortem_summary"  # chat message kind: figures and the Publish button


@dataclass(frozen=True)
class SummaryMessage:
    """What the message under a shared post-mortem shows (kind :data:`SUMMARY_MESSAGE`)."""

    stored: StoredPostmortem
    title: str
