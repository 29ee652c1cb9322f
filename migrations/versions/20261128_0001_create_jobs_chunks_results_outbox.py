"""create jobs chunks results outbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 12:26:25.192685
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('params_hash', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('video_bucket', sa.String(length=255), nullable=False),
    sa.Column('video_name', sa.String(length=1024), nullable=False),
    sa.Column('video_version', sa.String(length=1024), nullable=True),
    sa.Column('job_tag', sa.String(length=1024), nullable=True),
    sa.Column('video_metadata', sa.JSON(), nullable=True),
    sa.Column('model_version', sa.String(length=128), nullable=True),
    sa.Column('chunks_total', sa.Integer(), nullable=False),
    sa.Column('chunks_done', sa.Integer(), nullable=False),
    sa.Column('frames_total', sa.Integer(), nullable=False),
    sa.Column('frames_done', sa.Integer(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('account', 'operation', 'client_token', name='uq_jobs_client_token')
    )
    op.create_index('ix_jobs_account_phase', 'jobs', ['account', 'phase'], unique=False)
    op.create_table('chunks',
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('start_millis', sa.BigInteger(), nullable=False),
    sa.Column('end_millis', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('frames', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_chunks_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'index', name=op.f('pk_chunks'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=2048), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_outbox_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', 'channel', name='uq_outbox_event_channel')
    )
    op.create_index('ix_outbox_pending', 'outbox', ['delivered_at', 'next_attempt_at'], unique=False)
    op.create_table('label_detections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('chunk_index', sa.Integer(), nullable=False),
    sa.Column('timestamp_millis', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('label', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id', 'chunk_index'], ['chunks.job_id', 'chunks.index'], name=op.f('fk_label_detections_job_id_chunks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_detections'))
    )
    op.create_index('ix_label_detections_by_name', 'label_detections', ['job_id', 'name', 'confidence', 'id'], unique=False)
    op.create_index('ix_label_detections_by_time', 'label_detections', ['job_id', 'timestamp_millis', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_label_detections_by_time', table_name='label_detections')
    op.drop_index('ix_label_detections_by_name', table_name='label_detections')
    op.drop_table('label_detections')
    op.drop_index('ix_outbox_pending', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('chunks')
    op.drop_index('ix_jobs_account_phase', table_name='jobs')
    op.drop_table('jobs')
