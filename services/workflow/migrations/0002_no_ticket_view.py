"""no ticket view: the rules read a ticket's facts from its event, nothing read the table

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('tickets')


def downgrade():
    op.create_table('tickets',
    sa.Column('id', sa.String(length=48), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('owner', sa.String(length=80), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
