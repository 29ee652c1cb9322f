"""The job domain: settings, records, the services that start jobs and read results, the
Celery app and its tasks, storage, decoding and notifications.

`celery -A jobs worker` finds the Celery app here as `jobs.app`.
"""
from jobs.celery_app import app

__all__ = ["app"]
