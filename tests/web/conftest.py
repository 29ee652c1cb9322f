"""The REST API in this process (Flask's test client) against the real PostgreSQL, with two
tenants' API keys."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def rest_app(framewise_env):
    from web import create_app

    app = create_app()
    app.config["TESTING"] = True
    return app


def _key(name: str) -> str:
    from jobs import api_keys
    from jobs.database import session_scope

    with session_scope() as session:
        return api_keys.create(session, name=name).key


@pytest.fixture(scope="session")
def key_a(framewise_env) -> str:
    return _key("tenant a")


@pytest.fixture(scope="session")
def key_b(framewise_env) -> str:
    return _key("tenant b")


class Caller:
    """A test client that sends one API key."""

    def __init__(self, app, key: str):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {key}"}

    def __getattr__(self, method):
        def call(path, **kwargs):
            return getattr(self.client, method)(path, headers={**self.headers, **kwargs.pop("headers", {})},
                                                **kwargs)
        return call


@pytest.fixture
def api(rest_app, key_a) -> Caller:
    return Caller(rest_app, key_a)


@pytest.fixture
def other(rest_app, key_b) -> Caller:
    return Caller(rest_app, key_b)


@pytest.fixture
def video(framewise_env, photo_video) -> dict:
    """The 9 s photo video under a fresh name in the local bucket "unit", as the REST API names it."""
    import secrets
    import shutil

    name = f"photos-{secrets.token_hex(3)}.mp4"
    shutil.copyfile(photo_video, framewise_env.bucket_root / "unit" / name)
    return {"s3_object": {"bucket": "unit", "name": name}}
