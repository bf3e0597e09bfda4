"""Outside text (titles, notes, timeline entries) made safe for the Markdown post-mortem.

Only two things are defused: a ``|`` inside a table cell (it would split the cell) and a
``<`` (a Markdown renderer would pass raw HTML through). Markdown people write in their
notes stays Markdown on purpose.
"""

from __future__ import annotations

MISSING = "—"


def inline(text: str | None) -> str:
    """Outside text on one line, safe in a Markdown table cell: whitespace collapsed, ``|``
    escaped, and ``<`` written as ``&lt;`` so no renderer takes it for raw HTML."""
    if not text:
        return ""
    return " ".join(text.split()).replace("<", "&lt;").replace("|", "\\|")


def paragraph(text: str | None) -> str:
    """Outside text kept as written (Markdown welcome), except raw HTML."""
    if not text or not text.strip():
        return ""
    return text.strip().replace("\r\n", "\n").replace("<", "&lt;")
