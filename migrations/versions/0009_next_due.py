"""incident.next_due_at: when the next reminder is due, so the scan reads only those

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('next_due_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index('ix_incident_next_due_at', ['next_due_at'], unique=False)
    # The exact time needs the plan, which a migration does not have. No reminder is due
    # before its incident opened, so the opening is a safe lower bound: the first scan after
    # the upgrade reads each open incident once, sends what is due and stores the exact time.
    op.execute("UPDATE incident SET next_due_at = opened_at WHERE status != 'closed'")


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_next_due_at')
        batch_op.drop_column('next_due_at')
