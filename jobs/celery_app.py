"""The one Celery app. `celery -A jobs worker` finds it as `jobs.app`.

Tasks are short and idempotent: a Redis broker redelivers any unacknowledged task after its
visibility timeout, so every task is safe to run twice and none runs longer than the limit.
"""
from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from jobs.settings import get_settings

GPU_QUEUE = "framewise.gpu"  # decoding + inference: one process per GPU
IO_QUEUE = "framewise.io"  # probing, planning, finalising, notifying


def _broker_options(settings) -> dict:
    if settings.embedded_broker:
        # Celery's filesystem transport: a single-machine broker that needs no server.
        queue_dir = settings.broker_dir / "queue"
        processed = settings.broker_dir / "processed"
        control = settings.broker_dir / "control"  # broadcast (ping, inspect); default is ./control
        for folder in (queue_dir, processed, control):
            folder.mkdir(parents=True, exist_ok=True)
        return {"data_folder_in": str(queue_dir), "data_folder_out": str(queue_dir),
                "processed_folder": str(processed), "control_folder": str(control), "store_processed": False}
    # Above the hard time limit, so a long task is never handed to a second worker mid-run.
    return {"visibility_timeout": settings.task_time_limit + 120}


def create_celery() -> Celery:
    settings = get_settings()
    app = Celery("framewise", broker=settings.resolved_broker_url, include=["jobs.tasks"])
    app.conf.update(
        broker_transport_options=_broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # decord and long decodes can leak; recycle processes now and then.
        worker_max_tasks_per_child=100,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_default_queue=IO_QUEUE,
        task_routes={"framewise.analyze_chunk": {"queue": GPU_QUEUE}},
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


app = create_celery()


@worker_process_init.connect
def _fresh_process(**_kwargs) -> None:
    # A forked child must not reuse the parent's database connections.
    from jobs.database import dispose_engine

    dispose_engine()
