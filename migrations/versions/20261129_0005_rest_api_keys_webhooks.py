"""REST API: api keys, webhook endpoints and their delivery log; job start time and resubmission
link; outbox rows that gave up

Revision ID: 0005_rest
Revises: 0005_faces
Create Date: 2026-11-29 12:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_rest'
down_revision: str | None = '0005_faces'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_webhook_endpoints_job_id_jobs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_index('ix_webhook_endpoints_account', 'webhook_endpoints', ['account'], unique=False)
    op.create_table('webhook_attempts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_millis', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_webhook_attempts_outbox_id_outbox'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    op.create_index('ix_webhook_attempts_outbox', 'webhook_attempts', ['outbox_id', 'id'], unique=False)
    op.add_column('jobs', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('jobs', sa.Column('resubmitted_from', sa.String(length=64), nullable=True))
    op.add_column('outbox', sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_outbox_channel', 'outbox', ['channel', 'id'], unique=False)
    op.create_index('ix_jobs_account_created', 'jobs', ['account', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_jobs_account_created', table_name='jobs')
    op.drop_index('ix_outbox_channel', table_name='outbox')
    op.drop_column('outbox', 'failed_at')
    op.drop_column('jobs', 'resubmitted_from')
    op.drop_column('jobs', 'started_at')
    op.drop_index('ix_webhook_attempts_outbox', table_name='webhook_attempts')
    op.drop_table('webhook_attempts')
    op.drop_index('ix_webhook_endpoints_account', table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')
    op.drop_table('api_keys')
