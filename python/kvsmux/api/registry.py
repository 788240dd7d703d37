# SPDX-License-Identifier: Apache-2.0
"""Which function implements which operation: ``@operation("kinesisvideo", "CreateStream")``.

A handler takes the service (:class:`kvsmux.api.service.Kvs`) and the request members as
the model names them, already validated against the model, and returns the response
members (datetimes for timestamps). Streaming outputs return ``Payload`` as an iterator
of bytes-like chunks and ``ContentType``.
"""
from __future__ import annotations

from typing import Any, Callable

Handler = Callable[[Any, dict], dict]

HANDLERS: dict[tuple[str, str], Handler] = {}


def operation(service: str, name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        key = (service, name)
        if key in HANDLERS:
            raise RuntimeError(f"{service}.{name} is implemented twice")
        HANDLERS[key] = fn
        return fn
    return register
