"""the tickets and tasks of each customer and who is on them

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'customer_work',
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('item_id', sa.String(length=60), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('person', sa.String(length=80), nullable=True),
        sa.Column('open', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'item_id', name=op.f('pk_customer_work')),
    )
    with op.batch_alter_table('customer_work', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_work_customer_id'), ['customer_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('customer_work', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_work_customer_id'))
    op.drop_table('customer_work')
