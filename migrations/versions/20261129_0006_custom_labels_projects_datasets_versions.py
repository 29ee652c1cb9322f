"""custom labels: projects, datasets, their entries, project versions

Revision ID: 0006_custom
Revises: 0005_admin
Create Date: 2026-11-29 13:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006_custom'
down_revision: str | None = '0005_admin'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('custom_projects',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_projects')),
    sa.UniqueConstraint('account', 'name', name='uq_custom_projects_account_name')
    )
    op.create_table('custom_datasets',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('project_pk', sa.BigInteger(), nullable=False),
    sa.Column('dataset_type', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('status_message_code', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_pk'], ['custom_projects.id'],
                            name=op.f('fk_custom_datasets_project_pk_custom_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_datasets')),
    sa.UniqueConstraint('project_pk', 'dataset_type', name='uq_custom_datasets_project_type')
    )
    op.create_index(op.f('ix_custom_datasets_project_pk'), 'custom_datasets', ['project_pk'], unique=False)
    op.create_table('custom_project_versions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('project_pk', sa.BigInteger(), nullable=False),
    sa.Column('version_name', sa.String(length=255), nullable=False),
    sa.Column('version_arn', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('output_bucket', sa.String(length=255), nullable=False),
    sa.Column('output_prefix', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('min_inference_units', sa.Integer(), nullable=True),
    sa.Column('evaluation', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('training_seconds', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('progress_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('training_ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_pk'], ['custom_projects.id'],
                            name=op.f('fk_custom_project_versions_project_pk_custom_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_project_versions')),
    sa.UniqueConstraint('project_pk', 'version_name', name='uq_custom_project_versions_project_name'),
    sa.UniqueConstraint('version_arn', name=op.f('uq_custom_project_versions_version_arn'))
    )
    op.create_index(op.f('ix_custom_project_versions_project_pk'), 'custom_project_versions', ['project_pk'],
                    unique=False)
    op.create_table('custom_dataset_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('dataset_pk', sa.BigInteger(), nullable=False),
    sa.Column('source_ref', sa.Text(), nullable=False),
    sa.Column('entry', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('boxes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_pk'], ['custom_datasets.id'],
                            name=op.f('fk_custom_dataset_entries_dataset_pk_custom_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_dataset_entries'))
    )
    op.create_index(op.f('ix_custom_dataset_entries_dataset_pk'), 'custom_dataset_entries', ['dataset_pk'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_custom_dataset_entries_dataset_pk'), table_name='custom_dataset_entries')
    op.drop_table('custom_dataset_entries')
    op.drop_index(op.f('ix_custom_project_versions_project_pk'), table_name='custom_project_versions')
    op.drop_table('custom_project_versions')
    op.drop_index(op.f('ix_custom_datasets_project_pk'), table_name='custom_datasets')
    op.drop_table('custom_datasets')
    op.drop_table('custom_projects')
