"""API-key authentication for the REST API: `Authorization: Bearer <key>`. Each key is a tenant."""
from __future__ import annotations

from flask import g, request
from flask_smorest import abort

from jobs import api_keys
from jobs.database import session_scope


def require_key() -> None:
    """A blueprint's before_request: set g.account or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    account = None
    if scheme.lower() == "bearer" and key.strip():
        with session_scope() as session:
            account = api_keys.authenticate(session, key.strip())
    if account is None:
        abort(401, message="A valid API key is required: Authorization: Bearer <key>.",
              headers={"WWW-Authenticate": 'Bearer realm="framewise"'})
    g.account = account
