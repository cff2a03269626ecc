"""customer review: state, author of the change under review, note, verifier

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Customers entered before review existed count as approved.
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=10), server_default='approved',
                                      nullable=False))
        batch_op.add_column(sa.Column('review_author', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('verified_by', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_review'), ['review'], unique=False)


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_review'))
        batch_op.drop_column('verified_by')
        batch_op.drop_column('review_note')
        batch_op.drop_column('review_author')
        batch_op.drop_column('review')
