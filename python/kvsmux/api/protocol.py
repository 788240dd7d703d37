# SPDX-License-Identifier: Apache-2.0
"""The AWS rest-json protocol of the three KVS services, driven by their models
(KVS-WIRE-FACTS §1-§2): request paths, JSON bodies, timestamps as epoch seconds, and
errors as ``x-amzn-ErrorType`` + ``{"Message": ...}``.

Handlers never see the wire: :func:`handle` turns a POST into a handler call and its
result (or KvsError) into a :class:`WireResponse`. The HTTP server and the in-process
client both go through here, so boto3 sees the same bytes either way.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import logging
import math
import uuid
from typing import Any, Iterable, Iterator

from botocore.model import Shape

from kvsmux.api.errors import KvsError
from kvsmux.api.spec import SERVICES, service_model

log = logging.getLogger("kvsmux.api")

_AWS_NAMESPACE = ":http://internal.amazon.com/coral/com.amazonaws.kinesis.video/"


@dataclasses.dataclass
class WireResponse:
    status: int
    headers: dict[str, str]
    #: bytes for JSON responses; an iterator of bytes-like chunks for streaming payloads
    body: bytes | Iterator[Any]

    @property
    def streaming(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))


@functools.cache
def routes() -> dict[str, tuple[str, str]]:
    """Request path -> (service, operation), from the models' requestUri (case-sensitive)."""
    table: dict[str, tuple[str, str]] = {}
    for service in SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            path = model.operation_model(name).http["requestUri"]
            assert path not in table, path
            table[path] = (service, name)
    return table


def json_error(status: int, code: str, message: str, request_id: str) -> WireResponse:
    return WireResponse(status, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                                 "x-amzn-RequestId": request_id},
                        json.dumps({"Message": message}).encode())


def error_response(error: KvsError, request_id: str) -> WireResponse:
    """The wire form of an AWS error: status from the model, code in ``x-amzn-ErrorType``
    (botocore reads the code from there first), and a body with only ``Message``."""
    return json_error(error.http_status, error.code, error.message, request_id)


def _to_wire(shape: Shape | None, value: Any) -> Any:
    """Response members to JSON: timestamps as epoch seconds with milliseconds."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {k: _to_wire(shape.members[k], v) for k, v in value.items() if k in shape.members and v is not None}
    if kind == "list":
        return [_to_wire(shape.member, v) for v in value]
    if kind == "map":
        return {k: _to_wire(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, datetime.datetime):
            return round(value.timestamp(), 3)
        return round(float(value), 3)
    return value


def parse_body(body: bytes) -> dict:
    """The request members. An empty body is an empty request; anything else must be a
    JSON object (numbers in any JSON form: int, float, exponent)."""
    if not body or not body.strip():
        return {}
    try:
        params = json.loads(body)
        if not isinstance(params, dict):
            raise ValueError("request body must be a JSON object")
        for v in _numbers(params):
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError("request body has a non-finite number")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"request body is not JSON: {e}") from None
    except RecursionError:
        raise ValueError("request body is nested too deeply") from None
    return params


def _numbers(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, float):
        yield value


def handle(kvs: Any, method: str, path: str, body: bytes, *, request_id: str | None = None,
           raise_internal: bool = False) -> WireResponse:
    """One API request. ``kvs`` is the service (:class:`kvsmux.api.service.Kvs`)."""
    request_id = request_id or str(uuid.uuid4())
    route = routes().get(path)
    if route is None:
        return json_error(404, "UnknownOperationException", f"No operation at {path}", request_id)
    service, operation = route
    if method != "POST":
        return json_error(405, "MethodNotAllowedException", f"{operation} takes POST, not {method}", request_id)
    try:
        try:
            params = parse_body(body)
        except ValueError as e:
            raise KvsError("InvalidArgumentException", str(e), service=service) from None
        result = kvs.call(service, operation, params)
    except KvsError as e:
        return error_response(e, request_id)
    except Exception:
        if raise_internal:
            raise
        log.exception("%s.%s failed", service, operation)
        return json_error(500, "InternalFailure", "The service had an internal error.", request_id)
    output = service_model(service).operation_model(operation).output_shape
    headers = {"x-amzn-RequestId": request_id}
    payload = output.serialization.get("payload") if output is not None else None
    if payload is not None:
        headers["Content-Type"] = result.get("ContentType") or "application/octet-stream"
        return WireResponse(200, headers, iter(result[payload]))
    headers["Content-Type"] = "application/json"
    return WireResponse(200, headers, json.dumps(_to_wire(output, result or {}), separators=(",", ":")).encode())
