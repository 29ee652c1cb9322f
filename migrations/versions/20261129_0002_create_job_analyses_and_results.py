"""create job_analyses and results; the jobs' JSON documents become JSONB

One job may now run several analyses (job_analyses pins each one's options and model versions),
and every analysis stores its items in one results table served by two keyset indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 08:50:54
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())
JSON = postgresql.JSON(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table('job_analyses',
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('analysis', sa.String(length=32), nullable=False),
    sa.Column('options', JSONB, nullable=False),
    sa.Column('sample_fps', sa.Float(), nullable=True),
    sa.Column('model_versions', JSONB, nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_analyses_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'analysis', name=op.f('pk_job_analyses'))
    )
    op.create_table('results',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('analysis', sa.String(length=32), nullable=False),
    sa.Column('chunk_index', sa.Integer(), nullable=True),
    sa.Column('aggregate', sa.String(length=16), nullable=False),
    sa.Column('timestamp_millis', sa.BigInteger(), nullable=False),
    sa.Column('group_key', sa.String(length=256), nullable=True),
    sa.Column('rank', sa.Float(), nullable=False),
    sa.Column('item', JSONB, nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_results_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results'))
    )
    op.create_index('ix_results_by_group', 'results', ['job_id', 'analysis', 'aggregate', 'group_key', 'rank', 'id'], unique=False)
    op.create_index('ix_results_by_time', 'results', ['job_id', 'analysis', 'aggregate', 'timestamp_millis', 'id'], unique=False)
    op.create_index('ix_results_chunk', 'results', ['job_id', 'chunk_index'], unique=False)
    op.add_column('chunks', sa.Column('decodes', sa.Integer(), server_default='0', nullable=False))
    op.alter_column('chunks', 'decodes', server_default=None)
    # (outbox.payload stays JSON: a notice is sent with AWS's key order, which JSONB would not keep)
    for table, column, nullable in (('jobs', 'params', False), ('jobs', 'video_metadata', True)):
        op.alter_column(table, column, existing_type=JSON, type_=JSONB, existing_nullable=nullable,
                        postgresql_using=f'{column}::jsonb')


def downgrade() -> None:
    for table, column, nullable in (('jobs', 'params', False), ('jobs', 'video_metadata', True)):
        op.alter_column(table, column, existing_type=JSONB, type_=JSON, existing_nullable=nullable,
                        postgresql_using=f'{column}::json')
    op.drop_column('chunks', 'decodes')
    op.drop_index('ix_results_chunk', table_name='results')
    op.drop_index('ix_results_by_time', table_name='results')
    op.drop_index('ix_results_by_group', table_name='results')
    op.drop_table('results')
    op.drop_table('job_analyses')
