"""installation: when the bot first ran on this database

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'installation',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('installed_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    # A database that already holds work was installed no later than its oldest record.
    # A new one gets its row when the bot first starts (bot.digest.schedule).
    op.execute(
        """
        INSERT INTO installation (id, installed_at)
        SELECT 1, first_at FROM (
            SELECT MIN(at) AS first_at FROM (
                SELECT MIN(opened_at) AS at FROM incident
                UNION ALL SELECT MIN(received_at) FROM event
                UNION ALL SELECT MIN(created_at) FROM job
                UNION ALL SELECT MIN(claimed_at) FROM digest_run
            ) AS evidence
        ) AS oldest
        WHERE first_at IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_table('installation')
