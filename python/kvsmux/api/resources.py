# SPDX-License-Identifier: Apache-2.0
"""What the kinesisvideo handlers share: finding a signaling channel, telling stream ARNs
from channel ARNs, versioned compare-and-set changes, name-ordered pagination and the tag
limit (KVS API reference, kinesisvideo). Streams are found by
:func:`kvsmux.api.streams.find_stream`.

Every change to a stream or a channel (its attributes, configurations and tags) gives it
a new Version; reads never do.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from kvsmux.api.errors import KvsError
from kvsmux.store import Resource
from kvsmux.store.store import LimitReached

SERVICE = "kinesisvideo"
STREAM_NOT_FOUND = "The requested stream is not found or not active."
CHANNEL_NOT_FOUND = "The requested channel is not found or not active."
NOT_FOUND = {"stream": STREAM_NOT_FOUND, "channel": CHANNEL_NOT_FOUND}
KIND_NAMES = {"stream": "stream", "channel": "signaling channel"}

#: KVS quota (KVS-WIRE-FACTS §8.4): tags per stream or channel, existing and new keys together.
MAX_TAGS = 50


def invalid(message: str) -> KvsError:
    return KvsError("InvalidArgumentException", message, service=SERVICE)


def arn_kind(arn: str) -> str:
    """The resource type of a kinesisvideo ARN (``stream``, ``channel``); the model's
    pattern ``arn:…:kinesisvideo:region:account:TYPE/NAME/CREATION_MS`` is already checked."""
    return arn.split(":", 5)[-1].split("/", 1)[0]


def create(kvs: Any, kind: str, name: str, attrs: dict, tags: dict, *, limit: int | None,
           limit_error: str) -> Resource:
    """A new ACTIVE stream or channel (ARN with its creation time, a first version);
    ``limit_error`` past ``limit`` resources of its kind, ResourceInUseException when the
    name is taken."""
    now = kvs.clock.now_ms()
    try:
        resource = kvs.store.insert_resource(kind, name, kvs.ids.arn(kind, name, now), kvs.ids.version(), "ACTIVE",
                                             now, attrs, tags, limit=limit)
    except LimitReached:
        raise KvsError(limit_error, f"The account has reached its limit of {limit} {KIND_NAMES[kind]}s.",
                       service=SERVICE) from None
    if resource is None:
        raise KvsError("ResourceInUseException", f"The {KIND_NAMES[kind]} {name} already exists.", service=SERVICE)
    return resource


def find_channel(kvs: Any, params: dict) -> Resource:
    """The signaling channel a request names by ChannelName or ChannelARN (as
    :func:`kvsmux.api.streams.find_stream` does for streams)."""
    name, arn = params.get("ChannelName"), params.get("ChannelARN")
    if name is None and arn is None:
        raise invalid("Either ChannelName or ChannelARN must be specified.")
    channel = kvs.store.resource("channel", arn=arn) if arn is not None else kvs.store.resource("channel", name=name)
    if channel is not None and name is not None and arn is not None and channel.name != name:
        raise invalid("ChannelName and ChannelARN name different signaling channels.")
    if channel is None:
        raise KvsError("ResourceNotFoundException", CHANNEL_NOT_FOUND, service=SERVICE)
    return channel


def version_mismatch(resource: Resource, version: str) -> KvsError:
    return KvsError("VersionMismatchException",
                    f"The version {version} is not the latest version of the {KIND_NAMES[resource.kind]} "
                    f"{resource.name}; call Describe to get the current version.", service=SERVICE)


def modify(kvs: Any, resource: Resource, edit: Callable[[Resource], dict], *,
           current_version: str | None = None, new_version: bool = True) -> Resource:
    """Writes ``edit(resource)`` (a dict of new ``attrs`` and/or ``tags``; it may raise a
    KvsError) with compare-and-set on the version. With ``current_version`` (the caller's
    CurrentVersion) a different or concurrently changed version is VersionMismatchException;
    without it, a concurrent change makes the edit run again on the fresh resource."""
    while True:
        if current_version is not None and resource.version != current_version:
            raise version_mismatch(resource, current_version)
        changes = edit(resource)
        if new_version:
            changes["version"] = kvs.ids.version()
        if kvs.store.update_resource(resource, **changes):
            return resource
        fresh = kvs.store.resource(resource.kind, id=resource.id)
        if fresh is None:
            raise KvsError("ResourceNotFoundException", NOT_FOUND[resource.kind], service=SERVICE)
        resource = fresh


def delete(kvs: Any, resource: Resource, current_version: str | None) -> None:
    """Deletes a stream or channel; VersionMismatchException if ``current_version`` is given
    and is not (or, concurrently, stops being) the resource's version."""
    while True:
        if current_version is not None and resource.version != current_version:
            raise version_mismatch(resource, current_version)
        if kvs.store.delete_resource(resource, expect_version=resource.version):
            return
        fresh = kvs.store.resource(resource.kind, id=resource.id)
        if fresh is None:
            raise KvsError("ResourceNotFoundException", NOT_FOUND[resource.kind], service=SERVICE)
        resource = fresh


def check_tag_count(tags: dict, what: str) -> dict:
    """``tags``, or TagsPerResourceExceededLimitException past :data:`MAX_TAGS` keys."""
    if len(tags) > MAX_TAGS:
        raise KvsError("TagsPerResourceExceededLimitException",
                       f"The {what} would have {len(tags)} tags; a resource can have at most {MAX_TAGS} tags.",
                       service=SERVICE)
    return tags


def merged_tags(resource: Resource, new: dict) -> dict:
    """The resource's tags with ``new`` added (a key that exists is overwritten), within
    the limit."""
    return check_tag_count({**resource.tags, **new}, f"{KIND_NAMES[resource.kind]} {resource.name}")


def prefix_of(condition: dict | None) -> str:
    """The name prefix of a StreamNameCondition / ChannelNameCondition (BEGINS_WITH is the
    only operator; a condition without ComparisonValue selects everything)."""
    return (condition or {}).get("ComparisonValue") or ""


def paginate(kvs: Any, operation: str, params: dict, kind: str, *, default_max: int, prefix: str = "",
             keep: Callable[[Resource], bool] | None = None) -> tuple[list[Resource], str | None]:
    """One page of ``kind`` resources in name order (those ``keep`` accepts), and the
    NextToken of the next page (None at the end). The token holds the last returned name
    and is bound to the request's other members (:mod:`kvsmux.api.pagination`)."""
    max_results = params.get("MaxResults") or default_max
    after = None
    if params.get("NextToken"):
        after = kvs.tokens.decode(operation, params, params["NextToken"], SERVICE)
        if not isinstance(after, str):
            raise invalid("The NextToken is not valid.")
    page: list[Resource] = []
    for resource in scan(kvs, kind, prefix, after, batch=max_results + 1 if keep is None else 500):
        if keep is None or keep(resource):
            page.append(resource)
            if len(page) > max_results:
                break
    if len(page) <= max_results:
        return page, None
    page = page[:max_results]
    return page, kvs.tokens.encode(operation, params, page[-1].name)


def scan(kvs: Any, kind: str, prefix: str = "", after: str | None = None, batch: int = 500) -> Iterator[Resource]:
    """Every ``kind`` resource whose name starts with ``prefix``, after ``after``, in name
    order, read ``batch`` at a time."""
    while True:
        rows = kvs.store.resources(kind, prefix=prefix, after_name=after, limit=batch)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].name
