"""unread notices: a partial index for the header's unread count (issue 13)

Revision ID: 0023_unread_notices
Revises: 0022_validity
Create Date: 2026-12-02 10:30:00

Every page now shows the signed-in user's unread in-app notices in the header's "Hộp thư" link: one count per
request. ix_notifications_user_created (user_id, created_at) would read every notice the user ever had to find the
unread ones; this index holds only the unread in-app notices, so the count reads those few entries. On a large
database build it beforehand with
  CREATE INDEX CONCURRENTLY ix_notifications_unread ON notifications (user_id)
    WHERE read_at IS NULL AND channel = 'inapp';
(the migration then skips it).
"""
import sqlalchemy as sa
from alembic import op

revision = '0023_unread_notices'
down_revision = '0022_validity'
branch_labels = None
depends_on = None

WHERE = "read_at IS NULL AND channel = 'inapp'"


def upgrade():
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("notifications")}
    if "ix_notifications_unread" not in existing:
        op.create_index("ix_notifications_unread", "notifications", ["user_id"],
                        postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade():
    op.drop_index("ix_notifications_unread", table_name="notifications")
