"""Request validation from botocore's shipped Rekognition service model.

botocore checks required members, types and minimums on the client; raw HTTP callers skip
even that. So the server checks all of it again, plus what botocore leaves out: maximums,
patterns and enums, all read from the same model instead of schemas written by hand.
"""
from __future__ import annotations

import functools
import re

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("rekognition")


def operation(name: str) -> OperationModel | None:
    model = service_model()
    return model.operation_model(name) if name in model.operation_names else None


@functools.cache
def _pattern(expression: str) -> re.Pattern:
    return re.compile(expression)


def _constraints(value, shape: Shape, path: str, errors: list[str]) -> None:
    meta = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _constraints(value[name], member, f"{path}.{name}" if path else name, errors)
        return
    if isinstance(shape, ListShape) and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path} has more than {meta['max']} items")
        for i, item in enumerate(value):
            _constraints(item, shape.member, f"{path}[{i}]", errors)
        return
    if isinstance(shape, MapShape) or shape.type_name == "blob":
        return  # blobs arrive base64-encoded; their decoded size is the image path's to check
    if shape.type_name in ("integer", "long", "float", "double") and isinstance(value, bool):
        errors.append(f"{path} must be a number, not {str(value).lower()}")  # bool is an int to Python
        return
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        errors.append(f"{path} must be one of {', '.join(enum)}")
    if isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path} is longer than {meta['max']} characters")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            errors.append(f"{path} does not match the pattern {meta['pattern']}")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and "max" in meta and value > meta["max"]:
        errors.append(f"{path} must be at most {meta['max']}")


def validate(op: OperationModel, params: dict) -> list[str]:
    """All the ways `params` breaks the model's input shape; an empty list when it is valid."""
    if op.input_shape is None:
        return [] if not params else ["this operation takes no parameters"]
    report = ParamValidator().validate(params, op.input_shape)
    errors = [line.strip() for line in report.generate_report().splitlines() if line.strip()] \
        if report.has_errors() else []
    _constraints(params, op.input_shape, "", errors)
    return errors
