# SPDX-License-Identifier: Apache-2.0
"""The KVS service models, loaded from the installed botocore (its data files, not copies)."""
from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel

#: The services kvsmux serves, by botocore service name.
SERVICES = ("kinesisvideo", "kinesis-video-archived-media", "kinesis-video-media")


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> ServiceModel:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {SERVICES}")
    return _session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    """The model of one operation by its API name (``CreateStream``)."""
    return service_model(service).operation_model(operation)


@functools.cache
def error_statuses(service: str) -> dict[str, int]:
    """HTTP status per error code, from the error shapes of every operation of `service`."""
    model = service_model(service)
    out: dict[str, int] = {}
    for name in model.operation_names:
        for shape in model.operation_model(name).error_shapes:
            out[shape.name] = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    return out
