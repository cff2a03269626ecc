"""covering indexes for the range reads of the counters and duration histograms

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 20:35:00
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_daily_counts_covering', 'daily_counts',
                    ['day', 'metric', 'dimension', 'value'], postgresql_include=['n'])
    op.create_index('ix_period_counts_covering', 'period_counts',
                    ['period', 'start', 'metric', 'dimension', 'value'],
                    postgresql_include=['n'])
    op.create_index('ix_duration_histograms_covering', 'duration_histograms',
                    ['clock', 'period', 'start', 'seconds'], postgresql_include=['n'])


def downgrade():
    op.drop_index('ix_duration_histograms_covering', table_name='duration_histograms')
    op.drop_index('ix_period_counts_covering', table_name='period_counts')
    op.drop_index('ix_daily_counts_covering', table_name='daily_counts')
