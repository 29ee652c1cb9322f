"""create admin_users: the operators who may log in to the admin pages

Revision ID: 0005_admin
Revises: 0005_rest
Create Date: 2026-11-29 12:10:47
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_admin'
down_revision: str | None = '0005_rest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('admin_users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_users')),
    sa.UniqueConstraint('username', name=op.f('uq_admin_users_username'))
    )


def downgrade() -> None:
    op.drop_table('admin_users')
