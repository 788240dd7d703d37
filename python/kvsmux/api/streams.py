# SPDX-License-Identifier: Apache-2.0
"""Streams: create, describe, list, update, delete, retention, endpoints (KVS API
reference, kinesisvideo).

Gaps: streams are ACTIVE as soon as they are created and stay ACTIVE through updates
(the service passes through CREATING/UPDATING asynchronously), and a deleted stream is
gone at once (the service shows DELETING for a while); KmsKeyId is recorded, and nothing
is encrypted; DeviceStreamLimitExceededException and InvalidDeviceException ("not
implemented" in the model) are never raised.
"""
from __future__ import annotations

from typing import Any

from kvsmux.api.context import to_datetime
from kvsmux.api.errors import KvsError
from kvsmux.api.registry import operation
from kvsmux.api.resources import (STREAM_NOT_FOUND, check_tag_count, create, delete, invalid, modify, paginate,
                                  prefix_of)
from kvsmux.store import Resource

SERVICE = "kinesisvideo"
NOT_FOUND = STREAM_NOT_FOUND
#: KVS API: UpdateDataRetention ("the maximum value is 87600 (ten years)").
MAX_RETENTION_HOURS = 87_600
#: KVS API: ListStreams MaxResults ("The default is 10,000").
LIST_STREAMS_DEFAULT_MAX = 10_000


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
    if retention > MAX_RETENTION_HOURS:
        raise invalid(f"DataRetentionInHours must be at most {MAX_RETENTION_HOURS}.")
    tags = check_tag_count(p.get("Tags") or {}, f"stream {name}")
    attrs = {"DeviceName": p.get("DeviceName"), "MediaType": p.get("MediaType"),
             "KmsKeyId": p.get("KmsKeyId") or kms_key(kvs), "DataRetentionInHours": retention,
             "StreamStorageConfiguration": p.get("StreamStorageConfiguration") or {"DefaultStorageTier": "HOT"}}
    stream = create(kvs, "stream", name, attrs, dict(tags), limit=kvs.config.max_streams,
                    limit_error="AccountStreamLimitExceededException")
    return {"StreamARN": stream.arn}


@operation(SERVICE, "DescribeStream")
def describe_stream(kvs: Any, p: dict) -> dict:
    return {"StreamInfo": stream_info(find_stream(kvs, p))}


@operation(SERVICE, "GetDataEndpoint")
def get_data_endpoint(kvs: Any, p: dict) -> dict:
    """Every APIName is served by this server itself."""
    find_stream(kvs, p)
    return {"DataEndpoint": kvs.config.endpoint_url}


@operation(SERVICE, "ListStreams")
def list_streams(kvs: Any, p: dict) -> dict:
    """Streams in name order; NextToken anchored on the last name returned."""
    streams, token = paginate(kvs, "ListStreams", p, "stream", default_max=LIST_STREAMS_DEFAULT_MAX,
                              prefix=prefix_of(p.get("StreamNameCondition")))
    return {"StreamInfoList": [stream_info(s) for s in streams], "NextToken": token}


@operation(SERVICE, "UpdateStream")
def update_stream(kvs: Any, p: dict) -> dict:
    """DeviceName and MediaType that are not given keep their values; the stream always
    gets a new version."""
    def edit(stream: Resource) -> dict:
        attrs = dict(stream.attrs)
        for key in ("DeviceName", "MediaType"):
            if p.get(key) is not None:
                attrs[key] = p[key]
        return {"attrs": attrs}

    modify(kvs, find_stream(kvs, p), edit, current_version=p["CurrentVersion"])
    return {}


@operation(SERVICE, "DeleteStream")
def delete_stream(kvs: Any, p: dict) -> dict:
    """The stream, its fragments and its in-memory (retention 0) buffer go at once. The ARN
    carries the creation time, so a stream re-created under the same name is not the one
    the ARN names."""
    stream = find_stream(kvs, {"StreamARN": p["StreamARN"]})
    delete(kvs, stream, p.get("CurrentVersion"))
    kvs.live.drop(stream.id)
    return {}


@operation(SERVICE, "UpdateDataRetention")
def update_data_retention(kvs: Any, p: dict) -> dict:
    """The change applies to the current value; the result must stay within 0..87600. A
    decrease deletes at once the fragments received before the new window (all of them for
    0). Fragments in the in-memory buffer of a retention-0 stream are not persisted by an
    increase."""
    change = p["DataRetentionChangeInHours"]
    if p["Operation"] == "DECREASE_DATA_RETENTION":
        change = -change
    hours = 0

    def edit(stream: Resource) -> dict:
        nonlocal hours
        current = stream.attrs.get("DataRetentionInHours", 0)
        hours = current + change
        if not 0 <= hours <= MAX_RETENTION_HOURS:
            raise invalid(f"The data retention of stream {stream.name} would become {hours} hours "
                          f"({current} {'+' if change >= 0 else '-'} {abs(change)}); it must be between 0 and "
                          f"{MAX_RETENTION_HOURS}.")
        return {"attrs": {**stream.attrs, "DataRetentionInHours": hours}}

    stream = modify(kvs, find_stream(kvs, p), edit, current_version=p["CurrentVersion"])
    if change < 0:
        cutoff = kvs.clock.now_ms() - hours * 3_600_000 if hours else 1 << 62
        kvs.store.expire(stream.id, cutoff)
    return {}
