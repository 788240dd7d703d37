# SPDX-License-Identifier: Apache-2.0
"""The KVS service in plain Python: state, clock and quotas, and one entry point per
request, :meth:`Kvs.call`, that validates against the model and runs the handler.

>>> kvs = Kvs()                                   # in memory; Kvs("DIR") for a data directory
>>> kvs.call("kinesisvideo", "CreateStream", {"StreamName": "cam", "DataRetentionInHours": 24})
{'StreamARN': 'arn:aws:kinesisvideo:us-east-1:123456789012:stream/cam/1700000000000'}
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from kvsmux.api.context import Clock, Config, Identifiers, SystemClock
from kvsmux.api.errors import KvsError
from kvsmux.api.limits import Limits
from kvsmux.api.pagination import Tokens
from kvsmux.api.registry import HANDLERS
from kvsmux.api.validation import validate_request
from kvsmux.store import LiveBuffer, Store

# The modules that register handlers (imported for their @operation decorators).
from kvsmux.api import streams, tags, channels, configs, edge, archive, reader, clip, sessions, images  # noqa: E402,F401


def _stream_key(params: dict) -> str | None:
    """The stream a request names, for per-stream quotas (the name inside an ARN)."""
    if params.get("StreamName"):
        return str(params["StreamName"])
    arn = params.get("StreamARN")
    if isinstance(arn, str) and "/" in arn:
        return arn.split("/")[1]
    return None


class Kvs:
    """One KVS service over one store. Thread-safe; several ``Kvs`` (in several
    processes) may share a data directory."""

    def __init__(self, data_dir: str | Path | None = None, *, config: Config | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        self.config = config or Config()
        self.clock = clock or SystemClock()
        self.ids = Identifiers(self.config, rng)
        self.store = Store(data_dir)
        self.live = LiveBuffer(self.config.live_buffer_seconds, self.config.live_buffer_bytes)
        self.limits = Limits(self.config, self.clock)
        self.tokens = Tokens(self.store.secret())

    def close(self) -> None:
        self.store.close()

    def call(self, service: str, operation: str, params: dict) -> dict:
        """Runs one operation: model validation (InvalidArgumentException), quotas, handler."""
        handler = HANDLERS.get((service, operation))
        if handler is None:
            raise KvsError("InvalidArgumentException", f"{operation} is not supported by kvsmux", service=service)
        validate_request(service, operation, params)
        self.limits.request(operation, _stream_key(params), service)
        return handler(self, params)

    def put_media(self, **kwargs: Any) -> Any:
        """PutMedia: see :func:`kvsmux.api.ingest.put_media`."""
        from kvsmux.api.ingest import put_media
        return put_media(self, **kwargs)
