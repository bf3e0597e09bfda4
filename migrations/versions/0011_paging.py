"""paging: PagerDuty webhooks seen (unique X-Webhook-Id) and pages sent (unique dedup key)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pagerduty_webhook',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.String(length=200), nullable=False),
        sa.Column('event_id', sa.String(length=100), nullable=True),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('pd_incident_id', sa.String(length=40), nullable=True),
        sa.Column('dedup_key', sa.String(length=255), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('agent_id', sa.String(length=40), nullable=True),
        sa.Column('agent_name', sa.String(length=200), nullable=True),
        sa.Column('occurred_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('received_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('webhook_id'),
    )
    op.create_index(
        'ix_pagerduty_webhook_incident_id', 'pagerduty_webhook', ['incident_id'], unique=False
    )
    op.create_table(
        'paging_page',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('dedup_key', sa.String(length=255), nullable=False),
        sa.Column('route', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('sent_version', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('triggered_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('created_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedup_key'),
    )
    op.create_index('ix_paging_page_incident_id', 'paging_page', ['incident_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_paging_page_incident_id', table_name='paging_page')
    op.drop_table('paging_page')
    op.drop_index('ix_pagerduty_webhook_incident_id', table_name='pagerduty_webhook')
    op.drop_table('pagerduty_webhook')
