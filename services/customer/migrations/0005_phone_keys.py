"""office phone; one phone-key row per normalised phone, for the duplicate rule

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 16:09:23.147940
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_phone_keys',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_phone_keys_customer_id_customers')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_customer_phone_keys'))
    )
    with op.batch_alter_table('customer_phone_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_phone_keys_customer_id'), ['customer_id'], unique=False)

    op.execute("INSERT INTO customer_phone_keys (key, customer_id) "
               "SELECT phone_key, id FROM customers WHERE phone_key IS NOT NULL")
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_phone', sa.String(length=40), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_customers_phone_key'), type_='unique')
        batch_op.drop_column('phone_key')



def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_key', sa.VARCHAR(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_customers_phone_key'), ['phone_key'])
        batch_op.drop_column('office_phone')
    op.execute("UPDATE customers SET phone_key = (SELECT min(k.key) FROM customer_phone_keys k "
               "WHERE k.customer_id = customers.id)")

    with op.batch_alter_table('customer_phone_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_phone_keys_customer_id'))

    op.drop_table('customer_phone_keys')
