# SPDX-License-Identifier: Apache-2.0
"""Signaling channels (KVS API reference, kinesisvideo): create, describe, list, update,
delete, and their endpoints. Channels are ``kind="channel"`` resources with the ARN
``arn:aws:kinesisvideo:REGION:ACCOUNT:channel/NAME/CREATION_MS``; their tags are handled
by :mod:`kvsmux.api.tags` (TagResource), their media storage by :mod:`kvsmux.api.edge`.

Gaps:
- No WebRTC signaling is served: GetSignalingChannelEndpoint hands out URLs derived from
  the server's own endpoint, but nothing answers ConnectAsMaster / ConnectAsViewer,
  GetIceServerConfig, SendAlexaOfferToMaster or JoinStorageSession there, and
  MessageTtlSeconds is only recorded.
- Channels are ACTIVE as soon as they are created and stay ACTIVE through updates (the
  service passes through CREATING/UPDATING/DELETING asynchronously).
- FULL_MESH is refused (the model's doc: "Currently, SINGLE_MASTER is the only supported
  channel type").
"""
from __future__ import annotations

import urllib.parse
from typing import Any

from kvsmux.api.context import to_datetime
from kvsmux.api.registry import operation
from kvsmux.api.resources import (SERVICE, check_tag_count, create, delete, find_channel, invalid, modify, paginate,
                                  prefix_of)
from kvsmux.store import Resource

#: KVS API: SingleMasterConfiguration ("The default ... time to live is 60 seconds").
DEFAULT_MESSAGE_TTL_SECONDS = 60
#: KVS API: ListSignalingChannels MaxResults ("The default is 500").
LIST_CHANNELS_DEFAULT_MAX = 500
#: Without SingleMasterChannelEndpointConfiguration (UNCONFIRMED what the service picks).
DEFAULT_PROTOCOLS = ("WSS", "HTTPS")


def channel_info(channel: Resource) -> dict:
    """ChannelInfo, as DescribeSignalingChannel and ListSignalingChannels return it."""
    a = channel.attrs
    return {"ChannelName": channel.name, "ChannelARN": channel.arn, "ChannelType": a.get("ChannelType"),
            "ChannelStatus": channel.status, "CreationTime": to_datetime(channel.creation_ms),
            "SingleMasterConfiguration": a.get("SingleMasterConfiguration"), "Version": channel.version}


def _single_master(config: dict | None) -> dict:
    config = dict(config or {})
    config.setdefault("MessageTtlSeconds", DEFAULT_MESSAGE_TTL_SECONDS)
    return config


@operation(SERVICE, "CreateSignalingChannel")
def create_signaling_channel(kvs: Any, p: dict) -> dict:
    """Tags (a list of {Key, Value}; a repeated key keeps its last value) count against
    the 50-tag limit. The channel count is limited by ``Config.max_channels``."""
    name = p["ChannelName"]
    channel_type = p.get("ChannelType") or "SINGLE_MASTER"
    if channel_type != "SINGLE_MASTER":
        raise invalid(f"ChannelType {channel_type} is not supported; SINGLE_MASTER is the only supported "
                      "channel type.")
    tags = check_tag_count({t["Key"]: t["Value"] for t in p.get("Tags") or []}, f"signaling channel {name}")
    attrs = {"ChannelType": channel_type,
             "SingleMasterConfiguration": _single_master(p.get("SingleMasterConfiguration"))}
    channel = create(kvs, "channel", name, attrs, tags, limit=kvs.config.max_channels,
                     limit_error="AccountChannelLimitExceededException")
    return {"ChannelARN": channel.arn}


@operation(SERVICE, "DescribeSignalingChannel")
def describe_signaling_channel(kvs: Any, p: dict) -> dict:
    return {"ChannelInfo": channel_info(find_channel(kvs, p))}


@operation(SERVICE, "ListSignalingChannels")
def list_signaling_channels(kvs: Any, p: dict) -> dict:
    """Channels in name order; NextToken anchored on the last name returned."""
    channels, token = paginate(kvs, "ListSignalingChannels", p, "channel", default_max=LIST_CHANNELS_DEFAULT_MAX,
                               prefix=prefix_of(p.get("ChannelNameCondition")))
    return {"ChannelInfoList": [channel_info(c) for c in channels], "NextToken": token}


@operation(SERVICE, "UpdateSignalingChannel")
def update_signaling_channel(kvs: Any, p: dict) -> dict:
    """The model's doc makes SingleMasterConfiguration and its MessageTtlSeconds required
    for SINGLE_MASTER channels (the only type), so leaving them out is
    InvalidArgumentException."""
    ttl = (p.get("SingleMasterConfiguration") or {}).get("MessageTtlSeconds")
    if ttl is None:
        raise invalid("SingleMasterConfiguration.MessageTtlSeconds is required for a SINGLE_MASTER channel.")

    def edit(channel: Resource) -> dict:
        config = {**channel.attrs.get("SingleMasterConfiguration", {}), "MessageTtlSeconds": ttl}
        return {"attrs": {**channel.attrs, "SingleMasterConfiguration": config}}

    modify(kvs, find_channel(kvs, {"ChannelARN": p["ChannelARN"]}), edit, current_version=p["CurrentVersion"])
    return {}


@operation(SERVICE, "DeleteSignalingChannel")
def delete_signaling_channel(kvs: Any, p: dict) -> dict:
    """Without CurrentVersion the latest version is deleted. The channel's tags and media
    storage mapping go with it (the stream it stored to stays)."""
    delete(kvs, find_channel(kvs, {"ChannelARN": p["ChannelARN"]}), p.get("CurrentVersion"))
    return {}


def _endpoint(base: str, protocol: str) -> str:
    """The server's own URL for ``protocol``: WSS swaps http(s) for ws(s); HTTPS and WEBRTC
    use the base URL as it is (the service answers with wss://…, https://… hosts)."""
    parts = urllib.parse.urlsplit(base)
    if protocol == "WSS":
        parts = parts._replace(scheme={"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme))
    return urllib.parse.urlunsplit(parts)


@operation(SERVICE, "GetSignalingChannelEndpoint")
def get_signaling_channel_endpoint(kvs: Any, p: dict) -> dict:
    """One ResourceEndpointList entry per requested protocol (repeats dropped), derived from
    ``Config.endpoint_url``; Role (MASTER or VIEWER) does not change the URL. WEBRTC needs the
    channel to be configured for ingestion (media storage ENABLED), as the model's doc says.
    Known gap: no WebRTC signaling is served at these endpoints."""
    channel = find_channel(kvs, {"ChannelARN": p["ChannelARN"]})
    config = p.get("SingleMasterChannelEndpointConfiguration") or {}
    protocols = list(dict.fromkeys(config.get("Protocols") or DEFAULT_PROTOCOLS))
    storage = channel.attrs.get("MediaStorageConfiguration") or {}
    if "WEBRTC" in protocols and storage.get("Status") != "ENABLED":
        raise invalid(f"The WEBRTC protocol needs the signaling channel {channel.name} to be configured for "
                      "ingestion (UpdateMediaStorageConfiguration with Status ENABLED).")
    return {"ResourceEndpointList": [{"Protocol": proto, "ResourceEndpoint": _endpoint(kvs.config.endpoint_url, proto)}
                                     for proto in protocols]}
