"""REST API keys: create, list, revoke, authenticate. Only a key's SHA-256 is stored.

A key reads `fwk_<id>_<secret>`: the id is public (listings, revoke), the secret is shown once.
Each key is a tenant, as an AWS access key id is, unless it is created for an existing tenant.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.errors import ResourceNotFound
from jobs.records import ApiKey, utcnow

PREFIX = "fwk_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    id: str
    account: str
    key: str  # the only time the whole key exists outside the caller's hands


def create(session: Session, *, name: str | None = None, account: str | None = None) -> NewKey:
    key_id = secrets.token_hex(8)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(id=key_id, account=account or f"{PREFIX}{key_id}", name=name, key_hash=_hash(key))
    session.add(record)
    session.flush()
    return NewKey(key_id, record.account, key)


def listing(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke(session: Session, key_id: str) -> ApiKey:
    record = session.get(ApiKey, key_id.removeprefix(PREFIX))
    if record is None:
        raise ResourceNotFound(f"No API key {key_id}.")
    record.revoked_at = record.revoked_at or utcnow()
    return record


def authenticate(session: Session, key: str) -> str | None:
    """The tenant a presented key belongs to, or None for an unknown or revoked key.

    The lookup is by hash, so the comparison never touches the secret itself."""
    if not key.startswith(PREFIX):
        return None
    record = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None)))
    if record is None:
        return None
    record.last_used_at = utcnow()
    return record.account
