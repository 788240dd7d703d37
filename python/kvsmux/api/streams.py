# SPDX-License-Identifier: Apache-2.0
"""Streams: create, describe, endpoints (KVS API reference, kinesisvideo).

Gaps: streams are ACTIVE as soon as they are created and stay ACTIVE through updates
(the service passes through CREATING/UPDATING asynchronously); KmsKeyId is recorded, and
nothing is encrypted.
"""
from __future__ import annotations

from typing import Any

from kvsmux.api.context import to_datetime
from kvsmux.api.errors import KvsError
from kvsmux.api.registry import operation
from kvsmux.store import Resource
from kvsmux.store.store import LimitReached

SERVICE = "kinesisvideo"
NOT_FOUND = "The requested stream is not found or not active."


def find_stream(kvs: Any, params: dict, service: str = SERVICE) -> Resource:
    """The stream a request names by StreamName or StreamARN (exactly one is needed; both
    are accepted when they name the same stream)."""
    name, arn = params.get("StreamName"), params.get("StreamARN")
    if name is None and arn is None:
        raise KvsError("InvalidArgumentException", "Either StreamName or StreamARN must be specified.", service=service)
    stream = kvs.store.resource("stream", arn=arn) if arn is not None else kvs.store.resource("stream", name=name)
    if stream is not None and name is not None and arn is not None and stream.name != name:
        raise KvsError("InvalidArgumentException", "StreamName and StreamARN name different streams.", service=service)
    if stream is None:
        raise KvsError("ResourceNotFoundException", NOT_FOUND, service=service)
    return stream


def kms_key(kvs: Any) -> str:
    c = kvs.config
    return f"arn:aws:kms:{c.region}:{c.account_id}:alias/aws/kinesisvideo"


def stream_info(stream: Resource) -> dict:
    """StreamInfo, as DescribeStream and ListStreams return it."""
    a = stream.attrs
    return {"DeviceName": a.get("DeviceName"), "StreamName": stream.name, "StreamARN": stream.arn,
            "MediaType": a.get("MediaType"), "KmsKeyId": a.get("KmsKeyId"), "Version": stream.version,
            "Status": stream.status, "CreationTime": to_datetime(stream.creation_ms),
            "DataRetentionInHours": a.get("DataRetentionInHours", 0)}


def retention_cutoff_ms(kvs: Any, stream: Resource) -> int | None:
    """Fragments received before this server time have expired; None when the stream keeps
    nothing (retention 0)."""
    hours = stream.attrs.get("DataRetentionInHours", 0)
    if not hours:
        return None
    return kvs.clock.now_ms() - hours * 3_600_000


@operation(SERVICE, "CreateStream")
def create_stream(kvs: Any, p: dict) -> dict:
    name = p["StreamName"]
    retention = p.get("DataRetentionInHours", 0)
    if retention > 87_600:
        raise KvsError("InvalidArgumentException", "DataRetentionInHours must be at most 87600.", service=SERVICE)
    tags = p.get("Tags") or {}
    if len(tags) > 50:
        raise KvsError("TagsPerResourceExceededLimitException", "A stream can have at most 50 tags.", service=SERVICE)
    now = kvs.clock.now_ms()
    attrs = {"DeviceName": p.get("DeviceName"), "MediaType": p.get("MediaType"),
             "KmsKeyId": p.get("KmsKeyId") or kms_key(kvs), "DataRetentionInHours": retention,
             "StreamStorageConfiguration": p.get("StreamStorageConfiguration") or {"DefaultStorageTier": "HOT"}}
    try:
        stream = kvs.store.insert_resource("stream", name, kvs.ids.arn("stream", name, now), kvs.ids.version(),
                                           "ACTIVE", now, attrs, dict(tags), limit=kvs.config.max_streams)
    except LimitReached:
        raise KvsError("AccountStreamLimitExceededException",
                       f"The account has reached its limit of {kvs.config.max_streams} streams.",
                       service=SERVICE) from None
    if stream is None:
        raise KvsError("ResourceInUseException", f"The stream {name} already exists.", service=SERVICE)
    return {"StreamARN": stream.arn}


@operation(SERVICE, "DescribeStream")
def describe_stream(kvs: Any, p: dict) -> dict:
    return {"StreamInfo": stream_info(find_stream(kvs, p))}


@operation(SERVICE, "GetDataEndpoint")
def get_data_endpoint(kvs: Any, p: dict) -> dict:
    """Every APIName is served by this server itself."""
    find_stream(kvs, p)
    return {"DataEndpoint": kvs.config.endpoint_url}
