"""customer profile (客户画像); size bands derived for customers with a staff count

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 17:13:52.073883
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sub_industry', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('size_band', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('contact_title', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('legal_representative', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('business_area', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('needs', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('pain_points', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('decision_chain', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('budget_min', sa.Numeric(precision=18, scale=2), nullable=True))
        batch_op.add_column(sa.Column('budget_max', sa.Numeric(precision=18, scale=2), nullable=True))
        batch_op.add_column(sa.Column('expected_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('preferred_channel', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('preferences', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('market_position', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('referred_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('need_tags', sa.JSON(), server_default='[]', nullable=False))
        batch_op.create_index(batch_op.f('ix_customers_size_band'), ['size_band'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_sub_industry'), ['sub_industry'], unique=False)
    op.execute("UPDATE customers SET size_band = CASE WHEN employees <= 100 THEN 'micro' "
               "WHEN employees <= 500 THEN 'small' WHEN employees <= 2000 THEN 'medium' "
               "ELSE 'large' END WHERE employees IS NOT NULL")



def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_sub_industry'))
        batch_op.drop_index(batch_op.f('ix_customers_size_band'))
        batch_op.drop_column('need_tags')
        batch_op.drop_column('referred_by')
        batch_op.drop_column('market_position')
        batch_op.drop_column('preferences')
        batch_op.drop_column('preferred_channel')
        batch_op.drop_column('expected_start')
        batch_op.drop_column('budget_max')
        batch_op.drop_column('budget_min')
        batch_op.drop_column('decision_chain')
        batch_op.drop_column('pain_points')
        batch_op.drop_column('needs')
        batch_op.drop_column('business_area')
        batch_op.drop_column('legal_representative')
        batch_op.drop_column('contact_title')
        batch_op.drop_column('size_band')
        batch_op.drop_column('sub_industry')
