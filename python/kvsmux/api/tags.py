# SPDX-License-Identifier: Apache-2.0
"""Tags (KVS API reference, kinesisvideo): TagStream / UntagStream / ListTagsForStream
(a map, by StreamName or StreamARN) and TagResource / UntagResource / ListTagsForResource
(a list of {Key, Value} in, a map out, by the ARN of a signaling channel or a stream).

At most 50 tags per resource, existing and new keys together
(TagsPerResourceExceededLimitException); tagging a key again overwrites its value;
untagging a key that is not there is ignored. A tag change gives the resource a new
Version (every change does, see :mod:`kvsmux.api.resources`).

Gaps: the tag lists are never paginated (50 tags fit one response), so a NextToken in a
ListTagsFor* request is always invalid; the aws:-prefixed system tags are not reserved.
"""
from __future__ import annotations

from typing import Any

from kvsmux.api.errors import KvsError
from kvsmux.api.registry import operation
from kvsmux.api.resources import NOT_FOUND, SERVICE, arn_kind, merged_tags, modify
from kvsmux.api.streams import find_stream
from kvsmux.store import Resource


def _stream(kvs: Any, p: dict, operation_name: str) -> Resource:
    """The stream of a *Stream tag request. An ARN of the right form that does not name a
    stream (a channel ARN) is InvalidResourceFormatException."""
    arn = p.get("StreamARN")
    if arn is not None and arn_kind(arn) != "stream":
        raise KvsError("InvalidResourceFormatException",
                       f"{arn} is not a stream ARN; {operation_name} takes the ARN of a stream.", service=SERVICE)
    return find_stream(kvs, p)


def _resource(kvs: Any, arn: str) -> Resource:
    """The stream or signaling channel a ResourceARN names."""
    kind = arn_kind(arn)
    if kind not in NOT_FOUND:
        raise KvsError("InvalidArgumentException",
                       f"{arn} is not the ARN of a signaling channel or a stream.", service=SERVICE)
    resource = kvs.store.resource(kind, arn=arn)
    if resource is None:
        raise KvsError("ResourceNotFoundException", NOT_FOUND[kind], service=SERVICE)
    return resource


def _check_token(kvs: Any, operation_name: str, p: dict) -> None:
    # No tag list is ever paginated, so no token of ours exists for these requests;
    # decode() still tells a foreign or altered token apart with the right message.
    if p.get("NextToken"):
        kvs.tokens.decode(operation_name, p, p["NextToken"], SERVICE)
        raise KvsError("InvalidArgumentException", "The NextToken is not valid.", service=SERVICE)


def add_tags(kvs: Any, resource: Resource, tags: dict) -> None:
    modify(kvs, resource, lambda r: {"tags": merged_tags(r, tags)})


def remove_tags(kvs: Any, resource: Resource, keys: list[str]) -> None:
    gone = set(keys)
    modify(kvs, resource, lambda r: {"tags": {k: v for k, v in r.tags.items() if k not in gone}})


@operation(SERVICE, "TagStream")
def tag_stream(kvs: Any, p: dict) -> dict:
    add_tags(kvs, _stream(kvs, p, "TagStream"), p["Tags"])
    return {}


@operation(SERVICE, "UntagStream")
def untag_stream(kvs: Any, p: dict) -> dict:
    remove_tags(kvs, _stream(kvs, p, "UntagStream"), p["TagKeyList"])
    return {}


@operation(SERVICE, "ListTagsForStream")
def list_tags_for_stream(kvs: Any, p: dict) -> dict:
    stream = _stream(kvs, p, "ListTagsForStream")
    _check_token(kvs, "ListTagsForStream", p)
    return {"Tags": dict(stream.tags)}


@operation(SERVICE, "TagResource")
def tag_resource(kvs: Any, p: dict) -> dict:
    """Tags is a list of {Key, Value}; when a key appears twice the last value wins."""
    add_tags(kvs, _resource(kvs, p["ResourceARN"]), {t["Key"]: t["Value"] for t in p["Tags"]})
    return {}


@operation(SERVICE, "UntagResource")
def untag_resource(kvs: Any, p: dict) -> dict:
    remove_tags(kvs, _resource(kvs, p["ResourceARN"]), p["TagKeyList"])
    return {}


@operation(SERVICE, "ListTagsForResource")
def list_tags_for_resource(kvs: Any, p: dict) -> dict:
    resource = _resource(kvs, p["ResourceARN"])
    _check_token(kvs, "ListTagsForResource", p)
    return {"Tags": dict(resource.tags)}
