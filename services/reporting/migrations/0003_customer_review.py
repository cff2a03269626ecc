"""customer review state, and the current counters of approved customers

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=10), nullable=True))
    # Customers from before review are approved (as the customer service's migration made
    # them): the approved counters start as copies of the customer ones.
    op.execute("UPDATE customer_states SET review = 'approved'")
    op.execute("INSERT INTO current_counts (dimension, value, n) "
               "SELECT 'approved.' || dimension, value, n FROM current_counts "
               "WHERE dimension LIKE 'customer.%'")


def downgrade():
    op.execute("DELETE FROM current_counts WHERE dimension LIKE 'approved.%'")
    with op.batch_alter_table('customer_states', schema=None) as batch_op:
        batch_op.drop_column('review')
