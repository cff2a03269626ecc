"""attachments of customers and follow-ups (the files are in the attachment store)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'customer_attachments',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('uploaded_by', sa.String(length=80), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('followup_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['followup_id'], ['followups.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('customer_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_customer_attachments_sha256', ['sha256'])
        batch_op.create_index('ix_customer_attachments_customer_id', ['customer_id'])
        batch_op.create_index('ix_customer_attachments_followup_id', ['followup_id'])


def downgrade():
    op.drop_table('customer_attachments')
