"""incident.url becomes TEXT: an alert's link is kept whole, on both databases

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

PostgreSQL refused an Alertmanager generatorURL over 2000 characters
(StringDataRightTruncation, so a 503 that Alertmanager retried forever) while SQLite
stored it. Every other column webhooks reach is bounded by the adapters instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.alter_column(
            'url',
            existing_type=sa.String(length=2000),
            type_=sa.Text(),
            existing_nullable=True,
        )


def downgrade() -> None:
    # Links longer than the old column are cut rather than failing the downgrade.
    op.execute("UPDATE incident SET url = substr(url, 1, 2000) WHERE length(url) > 2000")
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.alter_column(
            'url',
            existing_type=sa.Text(),
            type_=sa.String(length=2000),
            existing_nullable=True,
        )
