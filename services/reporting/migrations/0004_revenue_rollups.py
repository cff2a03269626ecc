"""revenue, lifecycle status and roll-ups: customer deal and activity columns, period_counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 19:40:00

The new figures are built from the event log: run ``make rebuild-reports`` after upgrading.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('period_counts',
    sa.Column('period', sa.String(length=5), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('dimension', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=80), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('period', 'start', 'metric', 'dimension', 'value',
                            name=op.f('pk_period_counts'))
    )
    with op.batch_alter_table('duration_histograms', schema=None) as batch_op:
        batch_op.alter_column('period', existing_type=sa.String(length=4),
                              type_=sa.String(length=5), existing_nullable=False)
    with op.batch_alter_table('customer_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('deal_cents', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('signed_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('last_activity_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_customer_states_last_activity_at', ['last_activity_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('customer_states', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_states_last_activity_at')
        batch_op.drop_column('last_activity_at')
        batch_op.drop_column('signed_date')
        batch_op.drop_column('deal_cents')
        batch_op.drop_column('owner')
    op.execute("DELETE FROM duration_histograms WHERE period = 'month'")
    with op.batch_alter_table('duration_histograms', schema=None) as batch_op:
        batch_op.alter_column('period', existing_type=sa.String(length=5),
                              type_=sa.String(length=4), existing_nullable=False)
    op.drop_table('period_counts')
