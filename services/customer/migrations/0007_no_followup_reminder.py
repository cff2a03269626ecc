"""the overdue follow-up reminder moved to the workflow service

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('followup_reminded_for')


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_reminded_for', sa.DateTime(timezone=True),
                                      nullable=True))
