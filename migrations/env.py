"""Alembic environment: the URL comes from Framewise's settings, the schema from jobs.records."""
from __future__ import annotations

from alembic import context

from jobs.database import get_engine
from jobs.records import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = get_engine()
    with engine.connect() as connection:
        # Never queue behind a long transaction holding a lock on a busy table.
        connection.exec_driver_sql("SET lock_timeout = '10s'")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()  # SQLAlchemy 2 rolls back what an un-committed connection did


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
