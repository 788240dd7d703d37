# SPDX-License-Identifier: Apache-2.0
"""``kvsmux.Client``: the KVS API in-process, behind real botocore clients.

>>> import kvsmux
>>> kvs = kvsmux.Client()                       # in memory; Client("DIR") keeps a data directory
>>> kvs.create_stream(StreamName="cam", DataRetentionInHours=24)
>>> acks = list(kvs.put_media(StreamName="cam", Payload=open("cam.mkv", "rb")))
>>> kvs.list_fragments(StreamName="cam")["Fragments"]

The methods, arguments, parameter validation, responses, paginators and exceptions are
botocore's own: the client holds one botocore client per KVS service
(``kinesisvideo``, ``kinesis-video-archived-media``, ``kinesis-video-media``) whose
requests are answered in-process (botocore's ``before-send`` hook) by the same protocol
code the HTTP server runs, instead of going over the network. So code written for
``boto3.client('kinesisvideo')`` and ``boto3.client('kinesis-video-archived-media')``
runs unchanged, and every exception is a ``botocore.exceptions.ClientError`` with the
``response['Error']`` boto3 gives. ``put_media`` is the one method boto3 lacks (PutMedia
is not in the botocore models).
"""
from __future__ import annotations

import functools
import random
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import botocore.session
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config as BotocoreConfig
from botocore.errorfactory import BaseClientExceptions
from botocore.exceptions import ClientError

from kvsmux.api.context import Clock, Config
from kvsmux.api.errors import KvsError
from kvsmux.api.protocol import handle
from kvsmux.api.service import Kvs
from kvsmux.api.spec import SERVICES, service_model


@functools.cache
def exceptions() -> BaseClientExceptions:
    """One exception class per error code of the three services, shared by every Client,
    so ``client.exceptions.ResourceNotFoundException`` catches it from any operation."""
    classes: dict[str, type] = {}
    for service in SERVICES:
        for shape in service_model(service).error_shapes:
            classes.setdefault(str(shape.name), type(str(shape.name), (ClientError,), {}))
    cls = type("KinesisVideoExceptions", (BaseClientExceptions,), dict(classes))
    return cls(dict(classes))


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


class _Body:
    """A response body for botocore: ``stream()`` for JSON, ``read(amt)`` for payloads."""

    def __init__(self, body: Any) -> None:
        self._chunks: Iterator[Any] = iter([body]) if isinstance(body, (bytes, bytearray)) else iter(body)
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def stream(self, amt: int = 65536, decode_content: bool = True) -> Iterator[bytes]:
        while True:
            data = self.read(amt)
            if not data:
                return
            yield data

    def _next(self) -> bool:
        while not self._done:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._done = True
                return False
            if len(chunk):
                self._pending = memoryview(chunk).cast("B")
                return True
        return False

    def read(self, amt: int | None = None) -> bytes:
        if amt is None or amt < 0:
            parts = [bytes(self._pending)]
            self._pending = memoryview(b"")
            while self._next():
                parts.append(bytes(self._pending))
                self._pending = memoryview(b"")
            return b"".join(parts)
        if not self._pending and not self._next():
            return b""
        out = bytes(self._pending[:amt])
        self._pending = self._pending[amt:]
        return out

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        self._done = True
        if close is not None:
            close()


class _Surface:
    """What boto3 users reach for, over ``self.services`` (service name -> botocore client)."""

    services: dict[str, Any]

    @property
    def exceptions(self) -> BaseClientExceptions:
        return exceptions()

    def _client_for(self, method: str) -> Any:
        for client in self.services.values():
            if method in client.meta.method_to_api_mapping:
                return client
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("kvs", "services"):
            raise AttributeError(name)
        client = self._client_for(name)
        if client is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(client, name)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        for client in self.services.values():
            names |= set(client.meta.method_to_api_mapping)
        return sorted(names)

    def can_paginate(self, operation_name: str) -> bool:
        client = self._client_for(operation_name)
        return client is not None and client.can_paginate(operation_name)

    def get_paginator(self, operation_name: str) -> Any:
        client = self._client_for(operation_name)
        if client is None:
            raise ValueError(f"no operation {operation_name!r}")
        return client.get_paginator(operation_name)

    def close(self) -> None:
        for client in self.services.values():
            client.close()

    def __enter__(self) -> "_Surface":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Client(_Surface):
    """KVS in-process (see the module docstring). ``data_dir=None`` keeps everything in
    memory; ``clock``, ``rng`` and ``config`` make it deterministic in tests."""

    def __init__(self, data_dir: str | Path | None = None, *, config: Config | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None, kvs: Kvs | None = None) -> None:
        self.kvs = kvs or Kvs(data_dir, config=config, clock=clock, rng=rng)
        self.services: dict[str, Any] = {}
        for service in SERVICES:
            client = _session().create_client(
                service, region_name=self.kvs.config.region, endpoint_url=self.kvs.config.endpoint_url,
                config=BotocoreConfig(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1}))
            client._exceptions = exceptions()
            client.meta.events.register("before-send", self._answer)
            self.services[service] = client

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        path = urllib.parse.urlsplit(request.url).path
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        wire = handle(self.kvs, request.method, path, body, raise_internal=True)
        return AWSResponse(request.url, wire.status, wire.headers, _Body(wire.body))

    def put_media(self, *, Payload: Any, StreamName: str | None = None, StreamARN: str | None = None,
                  FragmentTimecodeType: str = "ABSOLUTE", ProducerStartTimestamp: Any = None) -> Iterator[dict]:
        """PutMedia (KVS-WIRE-FACTS §4): uploads MKV from ``Payload`` (bytes, a binary file
        or an iterable of chunks) and returns an iterator of the acknowledgements KVS sends,
        as dicts with its wire keys (``EventType``, ``FragmentTimecode``, ``FragmentNumber``,
        ``ErrorId``, ``ErrorCode``). Errors found before the upload starts (unknown stream,
        bad arguments, a second producer on the stream) raise ``ClientError``."""
        try:
            return self.kvs.put_media(Payload=Payload, StreamName=StreamName, StreamARN=StreamARN,
                                      FragmentTimecodeType=FragmentTimecodeType,
                                      ProducerStartTimestamp=ProducerStartTimestamp)
        except KvsError as e:
            response = {"Error": {"Code": e.code, "Message": e.message},
                        "ResponseMetadata": {"HTTPStatusCode": e.http_status}}
            raise self.exceptions.from_code(e.code)(response, "PutMedia") from None

    def close(self) -> None:
        super().close()
        self.kvs.close()


class RemoteClient(_Surface):
    """The same surface over HTTP, for a ``kvsmux serve`` (or KVS itself) at
    ``endpoint_url``: botocore clients for the three services, and ``put_media`` over the
    PutMedia wire protocol (:mod:`kvsmux.put`). Credentials are botocore's usual chain
    unless given; with none at all, requests go unsigned."""

    def __init__(self, endpoint_url: str, *, region_name: str = "us-east-1", aws_access_key_id: str | None = None,
                 aws_secret_access_key: str | None = None, config: BotocoreConfig | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.region = region_name
        session = botocore.session.get_session()
        # A new session resolves credentials afresh; the parsed service models and rule
        # sets are shared (loading them again costs ~0.1 s per RemoteClient).
        session.register_component("data_loader", _session().get_component("data_loader"))
        if config is None and aws_access_key_id is None and session.get_credentials() is None:
            config = BotocoreConfig(signature_version=UNSIGNED)  # no credentials: unsigned, for --no-auth servers
        self.services = {service: session.create_client(service, region_name=region_name, endpoint_url=endpoint_url,
                                                        aws_access_key_id=aws_access_key_id,
                                                        aws_secret_access_key=aws_secret_access_key, config=config)
                         for service in SERVICES}
        for client in self.services.values():
            client._exceptions = exceptions()
        self._credentials = self.services["kinesisvideo"]._request_signer._credentials

    def put_media(self, *, Payload: Any, StreamName: str | None = None, StreamARN: str | None = None,
                  FragmentTimecodeType: str = "ABSOLUTE", ProducerStartTimestamp: Any = None) -> Iterator[dict]:
        """PutMedia to the stream's PUT_MEDIA data endpoint (asked with GetDataEndpoint)."""
        from kvsmux.put import invalid_argument, put_media_http
        if (StreamName is None) == (StreamARN is None):  # as the server answers (nothing to ask an endpoint for)
            raise invalid_argument("Specify either StreamName or StreamARN, but not both.")
        target = {"StreamName": StreamName} if StreamName is not None else {"StreamARN": StreamARN}
        endpoint = self.get_data_endpoint(APIName="PUT_MEDIA", **target)["DataEndpoint"]
        credentials = self._credentials.get_frozen_credentials() if self._credentials is not None else None
        return put_media_http(endpoint, Payload, stream_name=StreamName, stream_arn=StreamARN,
                              fragment_timecode_type=FragmentTimecodeType,
                              producer_start_timestamp=ProducerStartTimestamp,
                              credentials=credentials, region=self.region)
