"""private incidents: incident.private and incident.privacy_round

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every incident so far was public; the server default fills existing rows on both
    # databases (SQLite's batch mode copies the table with it).
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('private', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column('privacy_round', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('privacy_round')
        batch_op.drop_column('private')
