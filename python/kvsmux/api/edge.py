# SPDX-License-Identifier: Apache-2.0
"""Edge-agent configurations, media storage (channel -> stream) and stream storage (KVS
API reference, kinesisvideo): StartEdgeConfigurationUpdate, DescribeEdgeConfiguration,
DeleteEdgeConfiguration, ListEdgeAgentConfigurations, DescribeMappedResourceConfiguration,
Update/DescribeMediaStorageConfiguration, Update/DescribeStreamStorageConfiguration.

There is no Edge Agent, so the sync is simulated, one step per read. The agent "acts"
each time a configuration is read (DescribeEdgeConfiguration, ListEdgeAgentConfigurations):
the read shows the current state, then SYNCING becomes IN_SYNC and DELETING removes the
configuration. So StartEdgeConfigurationUpdate answers SYNCING, the next read shows
SYNCING and later ones IN_SYNC; after DeleteEdgeConfiguration one read shows DELETING
and later ones get StreamEdgeConfigurationNotFoundException. Starting an update while
the configuration is SYNCING or DELETING (no read yet) is ResourceInUseException, as the
model's doc says for the syncing process. These reads do not change the stream's Version;
Start and Delete do.

Gaps: no recorder or uploader jobs run and EdgeAgentStatus is never returned;
ACKNOWLEDGED, SYNC_FAILED, DELETE_FAILED and DELETING_ACKNOWLEDGED never occur; media
storage is only recorded (no WebRTC ingestion, JoinStorageSession is not served); the
MappedResourceConfigurationListItem Type "SIGNALING_CHANNEL" is UNCONFIRMED; two channels
enabling storage to one stream at the same instant are not both refused; StreamStorage
DefaultStorageTier is recorded and does not change how fragments are kept.
"""
from __future__ import annotations

from typing import Any, Callable

from kvsmux.api.configs import require_retention
from kvsmux.api.context import to_datetime
from kvsmux.api.errors import KvsError
from kvsmux.api.registry import operation
from kvsmux.api.resources import SERVICE, find_channel, invalid, modify, paginate, scan
from kvsmux.api.streams import find_stream
from kvsmux.store import Resource

EDGE = "EdgeConfiguration"  # the stream attribute holding the edge configuration record
#: KVS API: ListEdgeAgentConfigurations MaxResults ("The default is 5").
LIST_EDGE_DEFAULT_MAX = 5
#: What DescribeMappedResourceConfiguration calls a channel storing media to the stream (UNCONFIRMED).
MAPPED_CHANNEL_TYPE = "SIGNALING_CHANNEL"
_BUSY = ("SYNCING", "DELETING")
_NEXT = {"SYNCING": "IN_SYNC"}  # DELETING -> removed


def _not_found(stream: Resource) -> KvsError:
    return KvsError("StreamEdgeConfigurationNotFoundException",
                    f"The stream {stream.name} has no edge configuration.", service=SERVICE)


def _edge_view(stream: Resource, record: dict) -> dict:
    return {"StreamName": stream.name, "StreamARN": stream.arn,
            "CreationTime": to_datetime(record["CreationTime"]),
            "LastUpdatedTime": to_datetime(record["LastUpdatedTime"]),
            "SyncStatus": record["SyncStatus"], "FailedStatusDetails": record.get("FailedStatusDetails"),
            "EdgeConfig": record["EdgeConfig"]}


def _observe(kvs: Any, stream: Resource) -> dict | None:
    """The edge configuration as a read sees it; then the simulated agent takes its step
    (a write that keeps the Version; lost to a concurrent change, it happens next read)."""
    record = stream.attrs.get(EDGE)
    if record is None:
        return None
    status = record["SyncStatus"]
    if status == "DELETING":
        attrs = {k: v for k, v in stream.attrs.items() if k != EDGE}
        kvs.store.update_resource(stream, attrs=attrs)
    elif status in _NEXT:
        kvs.store.update_resource(stream, attrs={**stream.attrs, EDGE: {**record, "SyncStatus": _NEXT[status]}})
    return record


@operation(SERVICE, "StartEdgeConfigurationUpdate")
def start_edge_configuration_update(kvs: Any, p: dict) -> dict:
    """Creates or replaces the stream's edge configuration (SyncStatus SYNCING). The stream
    must keep data (NoDataRetentionException); moving to another HubDeviceArn needs a
    DeleteEdgeConfiguration first (InvalidArgumentException)."""
    config = p["EdgeConfig"]

    def edit(stream: Resource) -> dict:
        require_retention(stream, "an edge configuration")
        now = kvs.clock.now_ms()
        old = stream.attrs.get(EDGE)
        if old is not None and old["SyncStatus"] in _BUSY:
            raise KvsError("ResourceInUseException",
                           f"The edge configuration of stream {stream.name} is {old['SyncStatus']}; wait for it "
                           "to reach a terminal state.", service=SERVICE)
        if old is not None and old["EdgeConfig"]["HubDeviceArn"] != config["HubDeviceArn"]:
            raise invalid(f"The stream {stream.name} is configured for the hub device "
                          f"{old['EdgeConfig']['HubDeviceArn']}; delete its edge configuration before moving it "
                          "to another device.")
        record = {"EdgeConfig": config, "CreationTime": old["CreationTime"] if old else now,
                  "LastUpdatedTime": now, "SyncStatus": "SYNCING"}
        return {"attrs": {**stream.attrs, EDGE: record}}

    stream = modify(kvs, find_stream(kvs, p), edit)
    return _edge_view(stream, stream.attrs[EDGE])


@operation(SERVICE, "DescribeEdgeConfiguration")
def describe_edge_configuration(kvs: Any, p: dict) -> dict:
    stream = find_stream(kvs, p)
    record = _observe(kvs, stream)
    if record is None:
        raise _not_found(stream)
    return _edge_view(stream, record)


@operation(SERVICE, "DeleteEdgeConfiguration")
def delete_edge_configuration(kvs: Any, p: dict) -> dict:
    """SyncStatus becomes DELETING (again DELETING if it already was)."""
    def edit(stream: Resource) -> dict:
        record = stream.attrs.get(EDGE)
        if record is None:
            raise _not_found(stream)
        record = {**record, "SyncStatus": "DELETING", "LastUpdatedTime": kvs.clock.now_ms()}
        return {"attrs": {**stream.attrs, EDGE: record}}

    modify(kvs, find_stream(kvs, p), edit)
    return {}


@operation(SERVICE, "ListEdgeAgentConfigurations")
def list_edge_agent_configurations(kvs: Any, p: dict) -> dict:
    """The edge configurations whose HubDeviceArn is the one asked for, in stream-name
    order (each listing is a read: see the module docstring)."""
    hub = p["HubDeviceArn"]

    def on_hub(stream: Resource) -> bool:
        record = stream.attrs.get(EDGE)
        return record is not None and record["EdgeConfig"]["HubDeviceArn"] == hub

    streams, token = paginate(kvs, "ListEdgeAgentConfigurations", p, "stream", default_max=LIST_EDGE_DEFAULT_MAX,
                              keep=on_hub)
    return {"EdgeConfigs": [_edge_view(s, _observe(kvs, s)) for s in streams], "NextToken": token}


# -- media storage: a signaling channel storing its media in a stream ---------------------

def _storage(channel: Resource) -> dict | None:
    config = channel.attrs.get("MediaStorageConfiguration")
    return config if config and config.get("Status") == "ENABLED" else None


def _stores_to(stream: Resource) -> Callable[[Resource], bool]:
    return lambda channel: (_storage(channel) or {}).get("StreamARN") == stream.arn


@operation(SERVICE, "DescribeMappedResourceConfiguration")
def describe_mapped_resource_configuration(kvs: Any, p: dict) -> dict:
    """The signaling channel that stores its media in the stream (at most one)."""
    stream = find_stream(kvs, p)
    channels, token = paginate(kvs, "DescribeMappedResourceConfiguration", p, "channel", default_max=1,
                               keep=_stores_to(stream))
    return {"MappedResourceConfigurationList": [{"Type": MAPPED_CHANNEL_TYPE, "ARN": c.arn} for c in channels],
            "NextToken": token}


@operation(SERVICE, "UpdateMediaStorageConfiguration")
def update_media_storage_configuration(kvs: Any, p: dict) -> dict:
    """ENABLED needs a StreamARN (InvalidArgumentException) of a stream that keeps data
    (NoDataRetentionException). A channel already storing to another stream, or a stream
    another channel already stores to, is ResourceInUseException: disable first."""
    config = p["MediaStorageConfiguration"]
    channel = find_channel(kvs, {"ChannelARN": p["ChannelARN"]})
    if config["Status"] == "ENABLED":
        if not config.get("StreamARN"):
            raise invalid("MediaStorageConfiguration.StreamARN is required when Status is ENABLED.")
        stream = find_stream(kvs, {"StreamARN": config["StreamARN"]})
        require_retention(stream, "media storage for a signaling channel")
        others = [c for c in scan(kvs, "channel") if c.id != channel.id and _stores_to(stream)(c)]
        if others:
            raise KvsError("ResourceInUseException",
                           f"The stream {stream.name} already stores the media of signaling channel "
                           f"{others[0].arn}.", service=SERVICE)

    def edit(c: Resource) -> dict:
        current = _storage(c)
        if config["Status"] == "ENABLED" and current and current["StreamARN"] != config["StreamARN"]:
            raise KvsError("ResourceInUseException",
                           f"The signaling channel {c.name} already stores its media in {current['StreamARN']}; "
                           "disable its media storage first.", service=SERVICE)
        return {"attrs": {**c.attrs, "MediaStorageConfiguration": dict(config)}}

    modify(kvs, channel, edit)
    return {}


@operation(SERVICE, "DescribeMediaStorageConfiguration")
def describe_media_storage_configuration(kvs: Any, p: dict) -> dict:
    """Status DISABLED for a channel that was never configured."""
    channel = find_channel(kvs, p)
    return {"MediaStorageConfiguration": channel.attrs.get("MediaStorageConfiguration") or {"Status": "DISABLED"}}


# -- stream storage tier ------------------------------------------------------------------

@operation(SERVICE, "UpdateStreamStorageConfiguration")
def update_stream_storage_configuration(kvs: Any, p: dict) -> dict:
    config = dict(p["StreamStorageConfiguration"])
    modify(kvs, find_stream(kvs, p), lambda s: {"attrs": {**s.attrs, "StreamStorageConfiguration": config}},
           current_version=p["CurrentVersion"])
    return {}


@operation(SERVICE, "DescribeStreamStorageConfiguration")
def describe_stream_storage_configuration(kvs: Any, p: dict) -> dict:
    """HOT for a stream created without a StreamStorageConfiguration (the model's default)."""
    stream = find_stream(kvs, p)
    return {"StreamName": stream.name, "StreamARN": stream.arn,
            "StreamStorageConfiguration": stream.attrs.get("StreamStorageConfiguration")
            or {"DefaultStorageTier": "HOT"}}
