# SPDX-License-Identifier: Apache-2.0
"""Request validation driven by the service models: required members, types, length and
value ranges, patterns and enums, at any depth (STYLE §6: never written per handler).

botocore checks required members, types and minimums on the client; the service itself
also enforces maximums, patterns and enums, and clients other than boto3 check nothing.
Failures are InvalidArgumentException with the AWS validation message format:
``1 validation error detected: Value 'x' at 'streamName' failed to satisfy constraint: ...``.
Members the model does not define are ignored, as the service does.
"""
from __future__ import annotations

import datetime
import functools
from typing import Any

import regex

from botocore.model import Shape

from kvsmux.api.errors import KvsError
from kvsmux.api.spec import operation_model

_MAX_REPORTED = 10
#: Epoch seconds a timestamp may have: what a datetime (so botocore) can represent, years
#: 1 to 9999. Beyond that they are no time at all, and would overflow the store's integers.
_MIN_TIMESTAMP, _END_TIMESTAMP = -62_135_596_800, 253_402_300_800


@functools.cache
def _pattern(pattern: str) -> regex.Pattern:
    # The models' patterns are Java regular expressions (\p{L} and friends in tag patterns);
    # the regex package reads them as Java does. A value must match as a whole.
    return regex.compile(pattern)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    return str(value) if not isinstance(value, str) else value


def _check_length(meta: dict, length: int, fail: str, problems: list[str]) -> None:
    """The min/max of a string, list or map apply to its length."""
    if "min" in meta and length < meta["min"]:
        problems.append(f"{fail} have length greater than or equal to {meta['min']}")
    if "max" in meta and length > meta["max"]:
        problems.append(f"{fail} have length less than or equal to {meta['max']}")


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a structure")
            return
        for name in meta.get("required", []):
            if value.get(name) is None:
                where = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
                problems.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], f"{path}.{_lower_first(name)}" if path else _lower_first(name), problems)
        return
    fail = f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: Member must"
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"{fail} be a string")
            return
        _check_length(meta, len(value), fail, problems)
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            problems.append(f"{fail} satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            problems.append(f"{fail} satisfy enum value set: [{', '.join(shape.enum)}]")
    elif kind in ("integer", "long", "float", "double"):
        integral = kind in ("integer", "long")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integral and not isinstance(value, int)):
            problems.append(f"{fail} be {'an integer' if integral else 'a number'}")
            return
        if "min" in meta and value < meta["min"]:
            problems.append(f"{fail} have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{fail} have value less than or equal to {meta['max']}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{fail} be a boolean")
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, datetime.datetime)):
            problems.append(f"{fail} be a timestamp")
        elif not isinstance(value, datetime.datetime) and not _MIN_TIMESTAMP <= value < _END_TIMESTAMP:
            problems.append(f"{fail} be a timestamp between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z")
    elif kind == "blob":
        if not isinstance(value, (bytes, bytearray, memoryview, str)) and not hasattr(value, "read"):
            problems.append(f"{fail} be binary data")
    elif kind == "list":
        if not isinstance(value, (list, tuple)):
            problems.append(f"{fail} be a list")
            return
        _check_length(meta, len(value), fail, problems)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}.{i + 1}.member", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{fail} be a map")
            return
        _check_length(meta, len(value), fail, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", problems)
            _check(shape.value, item, f"{path}.value", problems)


def validation_problems(service: str, operation: str, params: dict) -> list[str]:
    """Everything wrong with `params` for `operation`, one message each (empty when valid)."""
    shape = operation_model(service, operation).input_shape
    problems: list[str] = []
    if shape is not None:
        _check(shape, params, "", problems)
    return problems


def validate_request(service: str, operation: str, params: dict) -> None:
    """Raises InvalidArgumentException (a KvsError) listing the first problems found."""
    problems = validation_problems(service, operation, params)
    if problems:
        shown = problems[:_MAX_REPORTED]
        count = len(problems)
        head = f"{count} validation error{'s' if count > 1 else ''} detected: "
        raise KvsError("InvalidArgumentException", head + "; ".join(shown), service=service)
