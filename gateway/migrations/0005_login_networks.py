"""login records keep the client network and user agent; users remember their last login

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
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('network', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=True))
        batch_op.create_index('ix_login_attempts_user_address', ['username', 'remote_addr', 'at'],
                              unique=False)
        batch_op.create_index('ix_login_attempts_address', ['remote_addr', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_user_network', ['username', 'network', 'at'],
                              unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')

    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_user_network')
        batch_op.drop_index('ix_login_attempts_address')
        batch_op.drop_index('ix_login_attempts_user_address')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('network')
