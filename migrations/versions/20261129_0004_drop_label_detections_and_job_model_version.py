"""drop label_detections and jobs.model_version (their rows moved in 0003)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:56:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f('ix_label_detections_by_name'), table_name='label_detections')
    op.drop_index(op.f('ix_label_detections_by_time'), table_name='label_detections')
    op.drop_table('label_detections')
    op.drop_column('jobs', 'model_version')


def downgrade() -> None:
    op.add_column('jobs', sa.Column('model_version', sa.VARCHAR(length=128), autoincrement=False, nullable=True))
    op.create_table('label_detections',
    sa.Column('id', sa.BIGINT(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.VARCHAR(length=64), autoincrement=False, nullable=False),
    sa.Column('chunk_index', sa.INTEGER(), autoincrement=False, nullable=False),
    sa.Column('timestamp_millis', sa.BIGINT(), autoincrement=False, nullable=False),
    sa.Column('name', sa.VARCHAR(length=128), autoincrement=False, nullable=False),
    sa.Column('confidence', sa.DOUBLE_PRECISION(precision=53), autoincrement=False, nullable=False),
    sa.Column('label', postgresql.JSON(astext_type=sa.Text()), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['job_id', 'chunk_index'], ['chunks.job_id', 'chunks.index'],
                            name=op.f('fk_label_detections_job_id_chunks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_detections'))
    )
    op.create_index(op.f('ix_label_detections_by_time'), 'label_detections', ['job_id', 'timestamp_millis', 'id'], unique=False)
    op.create_index(op.f('ix_label_detections_by_name'), 'label_detections', ['job_id', 'name', 'confidence', 'id'], unique=False)
