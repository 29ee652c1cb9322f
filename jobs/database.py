"""Engine and sessions: one engine per process, one short transaction per unit of work."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from jobs.settings import get_settings


@functools.cache
def get_engine() -> Engine:
    return create_engine(get_settings().resolved_database_url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@functools.cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def new_session() -> Session:
    return _session_factory()()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engine() -> None:
    """Drop pooled connections; called in each forked worker child so none is shared."""
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
