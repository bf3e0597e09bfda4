"""notification_draft: at most one waiting draft per incident, channel and language

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

WAITING = sa.text("state = 'draft'")


def upgrade() -> None:
    # Until now the incident row lock alone kept drafts single; the database now says so too.
    with op.batch_alter_table('notification_draft', schema=None) as batch_op:
        batch_op.create_index(
            'uq_notification_draft_waiting',
            ['incident_id', 'channel', 'locale'],
            unique=True,
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table('notification_draft', schema=None) as batch_op:
        batch_op.drop_index('uq_notification_draft_waiting')
