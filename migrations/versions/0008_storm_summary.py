"""incident: the latest monitoring event and the pending tally of an alert storm

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('last_event_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('last_event_title', sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column('pending_events', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column('pending_recovered', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column('pending_since', bot.storage.types.UtcDateTime(timezone=True), nullable=True)
        )
    # Until now every grouped or recovered event was announced on its own, so nothing is
    # pending; the board learns when the latest one arrived from the stored events.
    op.execute(
        """
        UPDATE incident SET last_event_at = (
            SELECT MAX(event.received_at) FROM event
            WHERE event.incident_id = incident.id
              AND event.outcome IN ('grouped', 'recovered')
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('pending_since')
        batch_op.drop_column('pending_recovered')
        batch_op.drop_column('pending_events')
        batch_op.drop_column('last_event_title')
        batch_op.drop_column('last_event_at')
