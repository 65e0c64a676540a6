"""decision PDFs rendered as jobs (issue 12)

Revision ID: 0021_decision_papers
Revises: 0020_certificates
Create Date: 2026-12-02 06:10:00

decision_papers: the stored PDF of a decision (file under UPLOAD_DIR/papers, its sha256, size, pages, how many
names, when rendered, by which job) and the fingerprint of the list it was rendered from, so a changed list is
rendered again. Read by its key only.
"""
import sqlalchemy as sa
from alembic import op

revision = '0021_decision_papers'
down_revision = '0020_certificates'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'decision_papers',
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=128), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('names', sa.Integer(), nullable=False),
        sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'],
                                name=op.f('fk_decision_papers_decision_id_decisions')),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_decision_papers_job_id_jobs')),
        sa.PrimaryKeyConstraint('decision_id', name=op.f('pk_decision_papers')),
    )


def downgrade():
    op.drop_table('decision_papers')
