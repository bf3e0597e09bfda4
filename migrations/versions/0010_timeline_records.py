"""timeline_entry: people named as data, not as Slack markup

Until now the bot wrote people into timeline texts as Slack mentions (``<@U…>``) and
listed them in ``data["mentions"]``. From now on ``text`` names people by id and
``data["said"]`` holds the sentence's parts (``["made ", {"person": "U1"}, " the tech
lead"]``); the other keys of ``data`` are the entry's facts. Each row that holds a mention
is parsed into that form; every other row is left as it is (its text is read as one plain
part). No row is dropped. The downgrade writes the mentions back into the texts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Self-contained on purpose: a migration must keep working whatever the code becomes.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
_TEXT_LIMIT = 4000
_BATCH = 500

_timeline = sa.table(
    'timeline_entry',
    sa.column('id', sa.Integer),
    sa.column('text', sa.String),
    sa.column('data', sa.JSON),
)


def _parts(text: str) -> list[Any]:
    parts: list[Any] = []
    last = 0
    for match in _MENTION.finditer(text):
        if match.start() > last:
            parts.append(text[last : match.start()])
        parts.append({"person": match[1]})
        last = match.end()
    if last < len(text):
        parts.append(text[last:])
    return parts


def _plain(parts: list[Any]) -> str:
    return "".join(p["person"] if isinstance(p, dict) else p for p in parts)


def _rows(conn: sa.Connection, condition: Any) -> list[Any]:
    return list(
        conn.execute(
            sa.select(_timeline.c.id, _timeline.c.text, _timeline.c.data)
            .where(condition)
            .order_by(_timeline.c.id)
        )
    )


def upgrade() -> None:
    conn = op.get_bind()
    rows = _rows(conn, _timeline.c.text.like('%<@%'))
    for start in range(0, len(rows), _BATCH):
        for row_id, text, data in rows[start : start + _BATCH]:
            parts = _parts(text)
            facts = {k: v for k, v in dict(data or {}).items() if k != 'mentions'}
            if any(isinstance(p, dict) for p in parts):
                facts['said'] = parts
            conn.execute(
                _timeline.update()
                .where(_timeline.c.id == row_id)
                .values(text=_plain(parts)[:_TEXT_LIMIT], data=facts)
            )
    # Rows without a mention keep their text; only the retired key goes.
    has_mentions = sa.cast(_timeline.c.data, sa.Text).like('%"mentions"%')
    for row_id, _text, data in _rows(conn, has_mentions):
        if isinstance(data, dict) and 'mentions' in data:
            kept = {k: v for k, v in data.items() if k != 'mentions'}
            conn.execute(_timeline.update().where(_timeline.c.id == row_id).values(data=kept))


def downgrade() -> None:
    conn = op.get_bind()
    for row_id, _text, data in _rows(conn, sa.cast(_timeline.c.data, sa.Text).like('%"said"%')):
        if not isinstance(data, dict) or not isinstance(data.get('said'), list):
            continue
        parts = data['said']
        text = "".join(f"<@{p['person']}>" if isinstance(p, dict) else p for p in parts)
        kept = {k: v for k, v in data.items() if k != 'said'}
        kept['mentions'] = list(dict.fromkeys(p['person'] for p in parts if isinstance(p, dict)))
        conn.execute(
            _timeline.update()
            .where(_timeline.c.id == row_id)
            .values(text=text[:_TEXT_LIMIT], data=kept)
        )
