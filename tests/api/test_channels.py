# SPDX-License-Identifier: Apache-2.0
"""Signaling channels: CreateSignalingChannel, DescribeSignalingChannel,
ListSignalingChannels, UpdateSignalingChannel, DeleteSignalingChannel,
GetSignalingChannelEndpoint."""
from __future__ import annotations

import base64
import datetime
import re

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from kvsmux.api.context import Config

START = datetime.datetime.fromtimestamp(1_700_000_000, tz=datetime.timezone.utc)


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def create(api, name: str = "chan", **kwargs) -> str:
    return api.video.create_signaling_channel(ChannelName=name, **kwargs)["ChannelARN"]


def describe(api, name: str = "chan") -> dict:
    return api.video.describe_signaling_channel(ChannelName=name)["ChannelInfo"]


def test_create_then_describe_with_the_defaults(api):
    api.clock.advance(ms=42)
    arn = create(api)
    assert arn == "arn:aws:kinesisvideo:us-east-1:123456789012:channel/chan/1700000000042"
    c = describe(api)
    assert c["ChannelName"] == "chan" and c["ChannelARN"] == arn
    assert (c["ChannelType"], c["ChannelStatus"]) == ("SINGLE_MASTER", "ACTIVE")
    assert c["SingleMasterConfiguration"] == {"MessageTtlSeconds": 60}
    assert c["CreationTime"] == START + datetime.timedelta(milliseconds=42)
    assert re.fullmatch(r"[A-Za-z0-9]{20}", c["Version"])
    assert api.video.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"] == c


def test_create_with_a_message_ttl(api):
    create(api, ChannelType="SINGLE_MASTER", SingleMasterConfiguration={"MessageTtlSeconds": 5})
    assert describe(api)["SingleMasterConfiguration"] == {"MessageTtlSeconds": 5}
    create(api, "other", SingleMasterConfiguration={})
    assert describe(api, "other")["SingleMasterConfiguration"] == {"MessageTtlSeconds": 60}


def test_create_errors(api):
    create(api)
    with pytest.raises(api.video.exceptions.ResourceInUseException):
        create(api)
    with pytest.raises(ClientError) as e:
        create(api, "mesh", ChannelType="FULL_MESH")
    assert code(e) == "InvalidArgumentException"
    for kwargs in ({"ChannelType": "STAR"}, {"SingleMasterConfiguration": {"MessageTtlSeconds": 121}}):
        with pytest.raises(ClientError) as e:
            create(api, "x", **kwargs)
        assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        create(api, "bad name")
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ParamValidationError):
        create(api, "x", SingleMasterConfiguration={"MessageTtlSeconds": 4})
    assert [c["ChannelName"] for c in api.video.list_signaling_channels()["ChannelInfoList"]] == ["chan"]


def test_streams_and_channels_are_separate_namespaces(api):
    stream_arn = api.create_stream("same")
    create(api, "same")
    with pytest.raises(api.video.exceptions.ResourceNotFoundException) as e:
        api.video.describe_signaling_channel(ChannelARN=stream_arn)
    assert "channel" in e.value.response["Error"]["Message"]
    assert api.video.describe_stream(StreamName="same")["StreamInfo"]["StreamARN"] == stream_arn


def test_describe_errors(api):
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        describe(api, "nope")
    with pytest.raises(ClientError) as e:
        api.video.describe_signaling_channel()
    assert code(e) == "InvalidArgumentException"
    arn = create(api, "a")
    create(api, "b")
    with pytest.raises(ClientError) as e:
        api.video.describe_signaling_channel(ChannelName="b", ChannelARN=arn)
    assert code(e) == "InvalidArgumentException"


def test_list_signaling_channels_pages_in_name_order_with_a_prefix(api):
    names = [f"door-{i:02d}" for i in range(23)]
    for name in reversed(names):
        create(api, name)
    create(api, "garage")
    pages = list(api.video.get_paginator("list_signaling_channels").paginate(
        ChannelNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "door"},
        PaginationConfig={"PageSize": 5}))
    assert [len(p["ChannelInfoList"]) for p in pages] == [5, 5, 5, 5, 3]
    assert [c["ChannelName"] for p in pages for c in p["ChannelInfoList"]] == names
    assert "NextToken" not in pages[-1]
    everything = api.video.list_signaling_channels()
    assert len(everything["ChannelInfoList"]) == 24 and "NextToken" not in everything
    assert everything["ChannelInfoList"][-1] == describe(api, "garage")


def test_list_signaling_channels_refuses_a_bad_token(api):
    for i in range(3):
        create(api, f"c{i}")
    token = api.video.list_signaling_channels(MaxResults=1)["NextToken"]
    raw = bytearray(base64.b64decode(token))
    raw[-1] ^= 1
    with pytest.raises(ClientError) as e:
        api.video.list_signaling_channels(MaxResults=1, NextToken=base64.b64encode(bytes(raw)).decode())
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.list_signaling_channels(MaxResults=1, NextToken=token, ChannelNameCondition={
            "ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "c"})
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:   # a ListStreams token is not a ListSignalingChannels token
        api.create_stream("s1")
        api.create_stream("s2")
        api.video.list_signaling_channels(NextToken=api.video.list_streams(MaxResults=1)["NextToken"])
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.list_signaling_channels(MaxResults=10_001)
    assert code(e) == "InvalidArgumentException"


def test_update_signaling_channel(api):
    arn = create(api)
    before = describe(api)
    api.video.update_signaling_channel(ChannelARN=arn, CurrentVersion=before["Version"],
                                       SingleMasterConfiguration={"MessageTtlSeconds": 120})
    after = describe(api)
    assert after["SingleMasterConfiguration"] == {"MessageTtlSeconds": 120}
    assert after["Version"] != before["Version"] and after["CreationTime"] == before["CreationTime"]
    with pytest.raises(api.video.exceptions.VersionMismatchException):
        api.video.update_signaling_channel(ChannelARN=arn, CurrentVersion=before["Version"],
                                           SingleMasterConfiguration={"MessageTtlSeconds": 30})
    with pytest.raises(ClientError) as e:
        api.video.update_signaling_channel(ChannelARN=arn, CurrentVersion=after["Version"])
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.update_signaling_channel(ChannelARN=arn, CurrentVersion=after["Version"],
                                           SingleMasterConfiguration={"MessageTtlSeconds": 500})
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_signaling_channel(ChannelARN=arn.replace("/chan/", "/gone/"), CurrentVersion="v1",
                                           SingleMasterConfiguration={"MessageTtlSeconds": 30})
    assert describe(api) == after


def test_delete_signaling_channel(api):
    arn = create(api, Tags=[{"Key": "a", "Value": "b"}])
    version = describe(api)["Version"]
    with pytest.raises(api.video.exceptions.VersionMismatchException):
        api.video.delete_signaling_channel(ChannelARN=arn, CurrentVersion="stale1")
    api.video.delete_signaling_channel(ChannelARN=arn, CurrentVersion=version)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        describe(api)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.delete_signaling_channel(ChannelARN=arn)
    arn2 = create(api)
    api.video.delete_signaling_channel(ChannelARN=arn2)               # no version: the latest one
    assert api.video.list_signaling_channels()["ChannelInfoList"] == []


def test_get_signaling_channel_endpoint(api):
    arn = create(api)
    out = api.video.get_signaling_channel_endpoint(
        ChannelARN=arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"], "Role": "VIEWER"})
    server = api.endpoint_url  # http://127.0.0.1:4567 in-process (the default), the server's URL over HTTP
    host = server.removeprefix("http://")
    assert out["ResourceEndpointList"] == [{"Protocol": "WSS", "ResourceEndpoint": f"ws://{host}"},
                                           {"Protocol": "HTTPS", "ResourceEndpoint": server}]
    only = api.video.get_signaling_channel_endpoint(
        ChannelARN=arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS", "HTTPS"], "Role": "MASTER"})
    assert [e["Protocol"] for e in only["ResourceEndpointList"]] == ["HTTPS"]
    default = api.video.get_signaling_channel_endpoint(ChannelARN=arn)
    assert [e["Protocol"] for e in default["ResourceEndpointList"]] == ["WSS", "HTTPS"]


def test_signaling_endpoints_follow_the_configured_endpoint(make_api):
    api = make_api(config=Config(limits=False, endpoint_url="https://kvs.example.com:8443"))
    arn = create(api)
    out = api.video.get_signaling_channel_endpoint(ChannelARN=arn)["ResourceEndpointList"]
    assert [e["ResourceEndpoint"] for e in out] == ["wss://kvs.example.com:8443", "https://kvs.example.com:8443"]


def test_webrtc_endpoint_needs_media_storage(api):
    arn = create(api)
    webrtc = {"Protocols": ["WEBRTC"], "Role": "MASTER"}
    with pytest.raises(ClientError) as e:
        api.video.get_signaling_channel_endpoint(ChannelARN=arn, SingleMasterChannelEndpointConfiguration=webrtc)
    assert code(e) == "InvalidArgumentException"
    stream = api.create_stream("store", retention_hours=1)
    api.video.update_media_storage_configuration(
        ChannelARN=arn, MediaStorageConfiguration={"StreamARN": stream, "Status": "ENABLED"})
    out = api.video.get_signaling_channel_endpoint(ChannelARN=arn, SingleMasterChannelEndpointConfiguration=webrtc)
    assert out["ResourceEndpointList"] == [{"Protocol": "WEBRTC", "ResourceEndpoint": api.endpoint_url}]


def test_get_signaling_channel_endpoint_errors(api):
    arn = create(api)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.get_signaling_channel_endpoint(ChannelARN=arn.replace("/chan/", "/gone/"))
    for config in ({"Protocols": ["FTP"]}, {"Protocols": ["WSS"], "Role": "BOSS"},
                   {"Protocols": ["WSS", "HTTPS", "WSS", "HTTPS", "WSS", "HTTPS"]}):
        with pytest.raises(ClientError) as e:
            api.video.get_signaling_channel_endpoint(ChannelARN=arn, SingleMasterChannelEndpointConfiguration=config)
        assert code(e) == "InvalidArgumentException", config


def test_account_channel_limit(make_api):
    api = make_api(config=Config(limits=False, max_channels=2))
    create(api, "a")
    arn = create(api, "b")
    with pytest.raises(api.video.exceptions.AccountChannelLimitExceededException):
        create(api, "c")
    api.create_stream("streams-are-not-counted")
    api.video.delete_signaling_channel(ChannelARN=arn)
    create(api, "c")
