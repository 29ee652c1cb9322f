"""Worker heartbeats: each worker process says "alive" in Redis every few seconds.

Readiness (`/healthz`) reads them in one round trip instead of pinging workers over the broker
(two seconds a probe, and a web thread held all that time), and the recovery sweep reads them to
tell a chunk whose worker died on another host from one that is merely slow. A process is named
as it names its claims ("host:pid", jobs.lifecycle.worker_identity).
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time

log = logging.getLogger(__name__)

KEY = "framewise:heartbeats"
INFO_KEY = "framewise:worker-info"  # identity -> JSON: what a process is (device, queues), said once
INTERVAL_SECONDS = 5.0
FRESH_SECONDS = 30.0  # six missed beats: the process is gone (or frozen, which is as bad)
_FORGET_SECONDS = 3600.0


@functools.cache
def _redis():
    import redis

    from jobs.settings import get_settings

    url = get_settings().resolved_redis_url
    # Short timeouts: a health probe must answer in milliseconds, or say "not ready".
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) if url else None


def beat(identity: str, now: float | None = None) -> None:
    client = _redis()
    if client is not None:
        client.hset(KEY, identity, f"{now or time.time():.3f}")


def describe(identity: str, info: dict) -> None:
    client = _redis()
    if client is not None:
        client.hset(INFO_KEY, identity, json.dumps(info))


def descriptions() -> dict[str, dict]:
    """identity -> what the process said of itself (the admin's workers page); forgotten with its beats."""
    client = _redis()
    if client is None:
        return {}
    return {k.decode(): json.loads(v) for k, v in client.hgetall(INFO_KEY).items()}


def seen() -> dict[str, float]:
    """identity -> last beat (unix time), forgetting processes silent for an hour."""
    client = _redis()
    if client is None:
        return {}
    beats = {k.decode(): float(v) for k, v in client.hgetall(KEY).items()}
    old = [k for k, t in beats.items() if t < time.time() - _FORGET_SECONDS]
    if old:
        client.hdel(KEY, *old)
        client.hdel(INFO_KEY, *old)
    return beats


def alive(beats: dict[str, float], identity: str, now: float | None = None) -> bool:
    return beats.get(identity, 0.0) >= (now or time.time()) - FRESH_SECONDS


def any_alive(beats: dict[str, float], now: float | None = None) -> bool:
    return any(alive(beats, identity, now) for identity in beats)


def start(identity: str, also=None, info=None) -> threading.Thread:
    """Beat from a daemon thread for as long as this process lives; `also` runs on each beat
    (the video cache's sweep); `info()` is what the process is, said once from the thread (it may
    be slow: resolving the device imports torch). A failed beat (Redis restarting) is only logged."""
    def loop() -> None:
        described = info is None
        while True:
            if not described:
                try:
                    describe(identity, info())
                    described = True
                except Exception as error:  # noqa: BLE001 - tried again on the next beat
                    log.warning("worker description failed: %s", error)
            try:
                beat(identity)
                if also is not None:
                    also()
            except Exception as error:  # noqa: BLE001 - the next beat tries again
                log.warning("heartbeat failed: %s", error)
            time.sleep(INTERVAL_SECONDS)

    thread = threading.Thread(target=loop, name="framewise-heartbeat", daemon=True)
    thread.start()
    return thread
