"""The operation table: every Rekognition operation Framewise answers, by name.

Start*/Get* pairs come from the analysis registry (jobs/analyses); every other operation (image
calls, collections) registers itself here with @operation in the module that owns it. The AWS
endpoint (web/aws.py) dispatches on this table and nothing else.

A handler takes the caller's session, the caller's account (tenant) and the validated request
parameters, and returns the response body. The edge commits the session.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

from sqlalchemy.orm import Session

Handler = Callable[[Session, str, dict], dict]

# Modules that register operations other than Start*/Get* (imported once, on first use).
OPERATION_MODULES = ("jobs.analyses", "jobs.images", "jobs.face_collections", "jobs.face_users", "jobs.celebrities",
                     "jobs.custom_projects")

_EXTRA: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in _EXTRA and _EXTRA[name] is not handler:
            raise ValueError(f"two handlers for {name}")
        _EXTRA[name] = handler
        return handler

    return register


@functools.cache
def handlers() -> dict[str, Handler]:
    from jobs import analyses, services

    for module in OPERATION_MODULES:
        importlib.import_module(module)
    table: dict[str, Handler] = {}
    for analysis in analyses.registry().values():
        table[analysis.start_op] = functools.partial(services.start_analysis_job, analysis=analysis.name)
        table[analysis.get_op] = functools.partial(services.get_analysis_results, analysis=analysis.name)
    overlap = set(table) & set(_EXTRA)
    if overlap:
        raise ValueError(f"operations registered twice: {', '.join(sorted(overlap))}")
    table.update(_EXTRA)
    return table
