"""The analysis registry: every module in this package that defines an Analysis registers it.

Adding an analysis is adding one module here (plus its model in models/catalog.py): the AWS
endpoint, the Get service, the planner and the chunk engine find it by name or by operation.
"""
from __future__ import annotations

import importlib
import pkgutil

from jobs.analyses.base import Analysis, Frames, Order, Row, index_key

__all__ = ["Analysis", "Frames", "Order", "Row", "by_operation", "get", "index_key", "register", "registry"]

_REGISTRY: dict[str, Analysis] = {}
_loaded = False


def register(cls: type[Analysis]) -> type[Analysis]:
    """Class decorator: one instance of each analysis, keyed by its name."""
    instance = cls()
    if instance.name in _REGISTRY and type(_REGISTRY[instance.name]) is not cls:
        raise ValueError(f"two analyses are called {instance.name!r}")
    _REGISTRY[instance.name] = instance
    return cls


def _discover() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def registry() -> dict[str, Analysis]:
    _discover()
    return dict(_REGISTRY)


def get(name: str) -> Analysis:
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no analysis called {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def by_operation(operation: str) -> Analysis | None:
    """The analysis whose Start* or Get* operation this is."""
    _discover()
    return next((a for a in _REGISTRY.values() if operation in (a.start_op, a.get_op)), None)
