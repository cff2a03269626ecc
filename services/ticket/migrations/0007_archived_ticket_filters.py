"""archived tickets keep the feedback form's filter columns (channel, department, late entry,
status label), filled for those already archived from the ticket they keep

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 19:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

archived = sa.table('archived_tickets', sa.column('id', sa.String), sa.column('ticket', sa.JSON),
                    sa.column('channel', sa.String), sa.column('department', sa.String),
                    sa.column('late_entry', sa.Boolean), sa.column('status_label', sa.String))


def upgrade():
    with op.batch_alter_table('archived_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('department', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('late_entry', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('status_label', sa.String(length=20),
                                      server_default='closed', nullable=False))
    connection = op.get_bind()
    for row in connection.execute(sa.select(archived.c.id, archived.c.ticket)).all():
        ticket = row.ticket or {}
        connection.execute(archived.update().where(archived.c.id == row.id).values(
            channel=ticket.get('channel'), department=ticket.get('department'),
            late_entry=bool(ticket.get('late_entry')),
            status_label=ticket.get('status_label') or 'closed'))


def downgrade():
    with op.batch_alter_table('archived_tickets', schema=None) as batch_op:
        batch_op.drop_column('status_label')
        batch_op.drop_column('late_entry')
        batch_op.drop_column('department')
        batch_op.drop_column('channel')
