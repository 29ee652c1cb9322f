"""`framewise standalone` as a service manager sees it: its children die with it, it never calls
another server on its port its own, and a dead child is a non-zero exit with the reason."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tests.e2e.test_embedded import _embedded_env, _standalone, data_dir  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # a zombie has exited; only its (dead) parent would reap it


def _wait_gone(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_gone(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if not _gone(p)]


def test_a_dead_child_stops_standalone_with_a_reason(data_dir):  # noqa: F811
    proc, _ = _standalone(data_dir, free_port())
    children = _children(proc.pid)
    dispatcher = next(p for p in children if b"dispatcher" in Path(f"/proc/{p}/cmdline").read_bytes())
    output = []
    threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True).start()
    os.kill(dispatcher, signal.SIGKILL)
    try:
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code != 0, "Restart=on-failure needs a failure"
    assert not _wait_gone(children), "the other children were stopped"


def test_children_die_with_a_killed_standalone(data_dir):  # noqa: F811
    port = free_port()
    proc, _ = _standalone(data_dir, port)
    children = _children(proc.pid)
    assert len(children) == 5  # redis, web, worker, image worker, dispatcher
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not _wait_gone(children), "orphans left behind"
    import socket

    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))  # nothing serves on the port any more


class _Impostor(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "checks": {"database": True, "worker": True}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_another_server_on_the_port_is_not_mistaken_for_ours(data_dir):  # noqa: F811
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run([sys.executable, "-m", "jobs.cli", "standalone", "--port", str(server.server_port)],
                                cwd=REPO, env=_embedded_env(data_dir), capture_output=True, text=True, timeout=300,
                                check=False)
    finally:
        server.shutdown()
    assert result.returncode != 0
    assert "Framewise is serving" not in result.stdout
    assert "web exited with code" in result.stderr, result.stderr[-2000:]
