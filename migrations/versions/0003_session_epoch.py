"""users.session_epoch: a counter every session and API token carries; bumping it ends them all at once

Revision ID: 0003_session_epoch
Revises: 0002_notifications
Create Date: 2026-12-01 20:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_session_epoch'
down_revision = '0002_notifications'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_epoch')
