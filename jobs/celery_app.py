"""The one Celery app. `celery -A jobs worker` finds it as `jobs.app`.

Tasks are short and idempotent: a Redis broker redelivers any unacknowledged task after its
visibility timeout, so every task is safe to run twice and none runs longer than the limit.
The broker is always Redis: the operator's, or the embedded one `framewise standalone` starts.
"""
from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from jobs.settings import get_settings

GPU_QUEUE = "framewise.gpu"  # decoding + inference: one process per GPU
IO_QUEUE = "framewise.io"  # probing, planning, finalising, notifying
IMAGE_QUEUE = "framewise.image"  # synchronous image calls: their own worker, never behind a video chunk


def _config() -> dict:
    settings = get_settings()
    broker = settings.resolved_broker_url
    return {
        "broker_url": broker,
        # Above the hard time limit, so a long task is never handed to a second worker mid-run.
        "broker_transport_options": {"visibility_timeout": settings.task_time_limit + 120},
        "broker_connection_retry_on_startup": True,
        # Only image calls return a result (their reply); video tasks write to PostgreSQL.
        "result_backend": broker,
        "result_expires": 300,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # decord and long decodes can leak; recycle processes now and then.
        "worker_max_tasks_per_child": 100,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_default_queue": IO_QUEUE,
        "task_routes": {"framewise.analyze_chunk": {"queue": GPU_QUEUE},
                        "framewise.train_project_version": {"queue": GPU_QUEUE},
                     "framewise.run_image": {"queue": IMAGE_QUEUE}},
        "worker_hijack_root_logger": False,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
    }


def create_celery() -> Celery:
    app = Celery("framewise", include=["jobs.tasks"])
    # A promise: the settings are read when the configuration is first needed, not at import,
    # so `import jobs` never reaches for a database or broker URL.
    app.add_defaults(_config)
    return app


app = create_celery()


@worker_process_init.connect
def _fresh_process(**_kwargs) -> None:
    # A forked child must not reuse the parent's database connections.
    from jobs import heartbeat
    from jobs.database import dispose_engine
    from jobs.lifecycle import worker_identity
    from jobs.storage import sweep_cache

    dispose_engine()
    heartbeat._redis.cache_clear()  # nor the parent's Redis connection
    heartbeat.start(worker_identity(), also=sweep_cache, info=_description)


def _description() -> dict:
    """What this worker process is, for the admin's workers page: its device and its queues."""
    from jobs.settings import get_settings
    from models.device import resolve_device

    queues = sorted(app.amqp.queues.consume_from or ()) if app.amqp.queues else []
    return {"device": resolve_device(get_settings().device), "queues": queues}
