"""incident.reopened_at: when an incident was last reopened

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('reopened_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True)
        )
    # Until now a reopening was only written down as a timeline entry ("reopened the
    # incident (step 4 … pending again)"): the latest one is when it was last reopened.
    op.execute(
        """
        UPDATE incident SET reopened_at = (
            SELECT MAX(entry.at) FROM timeline_entry AS entry
            WHERE entry.incident_id = incident.id
              AND entry.kind = 'status'
              AND entry.text LIKE 'reopened%'
        )
        WHERE generation > 0
        """
    )


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('reopened_at')
