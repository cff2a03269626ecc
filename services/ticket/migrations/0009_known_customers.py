"""known_customers: the customers' owner, email and language, kept from their events

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'known_customers',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('owner', sa.String(length=80), nullable=True),
        sa.Column('email', sa.String(length=200), nullable=True),
        sa.Column('language', sa.String(length=10), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('known_customers')
