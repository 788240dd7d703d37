# SPDX-License-Identifier: Apache-2.0
"""Edge-agent configurations, media storage (channel -> stream), mapped resources and the
stream storage tier."""
from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

START = datetime.datetime.fromtimestamp(1_700_000_000, tz=datetime.timezone.utc)
HUB = "arn:aws:iot:us-east-1:123456789012:thing/hub-1"
OTHER_HUB = "arn:aws:iot:us-east-1:123456789012:thing/hub-2"


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def version(api, name: str = "cam") -> str:
    return api.video.describe_stream(StreamName=name)["StreamInfo"]["Version"]


def edge_config(hub: str = HUB, **extra) -> dict:
    return {"HubDeviceArn": hub,
            "RecorderConfig": {"MediaSourceConfig": {
                "MediaUriSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cam-uri",
                "MediaUriType": "RTSP_URI"}},
            **extra}


def start(api, name: str = "cam", **kwargs) -> dict:
    return api.video.start_edge_configuration_update(StreamName=name, EdgeConfig=edge_config(**kwargs))


def status(api, name: str = "cam") -> str:
    return api.video.describe_edge_configuration(StreamName=name)["SyncStatus"]


# -- StartEdgeConfigurationUpdate / DescribeEdgeConfiguration / DeleteEdgeConfiguration ----------

def test_start_edge_configuration_then_sync_on_reads(api):
    arn = api.create_stream()
    v0 = version(api)
    extra = {"UploaderConfig": {"ScheduleConfig": {"ScheduleExpression": "0 0/5 * * * ?", "DurationInSeconds": 60}},
             "DeletionConfig": {"EdgeRetentionInHours": 24, "DeleteAfterUpload": True,
                                "LocalSizeConfig": {"MaxLocalMediaSizeInMB": 64,
                                                    "StrategyOnFullSize": "DELETE_OLDEST_MEDIA"}}}
    out = start(api, **extra)
    assert (out["StreamName"], out["StreamARN"], out["SyncStatus"]) == ("cam", arn, "SYNCING")
    assert out["EdgeConfig"] == edge_config(**extra)
    assert out["CreationTime"] == out["LastUpdatedTime"] == START
    assert version(api) != v0
    v1 = version(api)
    first = api.video.describe_edge_configuration(StreamARN=arn)
    assert first["SyncStatus"] == "SYNCING" and first["EdgeConfig"] == edge_config(**extra)
    assert "EdgeAgentStatus" not in first
    assert status(api) == "IN_SYNC" and status(api) == "IN_SYNC"
    assert version(api) == v1                                             # reads keep the version


def test_start_again_while_syncing_is_resource_in_use_and_after_sync_updates(api):
    api.create_stream()
    start(api)
    with pytest.raises(api.video.exceptions.ResourceInUseException):
        start(api)
    assert status(api) == "SYNCING"
    assert status(api) == "IN_SYNC"
    api.clock.advance(60)
    out = api.video.start_edge_configuration_update(
        StreamName="cam", EdgeConfig=edge_config(DeletionConfig={"EdgeRetentionInHours": 720}))
    assert out["SyncStatus"] == "SYNCING"
    assert out["CreationTime"] == START and out["LastUpdatedTime"] == START + datetime.timedelta(seconds=60)
    assert api.video.describe_edge_configuration(StreamName="cam")["EdgeConfig"]["DeletionConfig"] == \
        {"EdgeRetentionInHours": 720}


def test_moving_to_another_hub_needs_a_delete_first(api):
    api.create_stream()
    start(api)
    status(api)
    with pytest.raises(ClientError) as e:
        start(api, hub=OTHER_HUB)
    assert code(e) == "InvalidArgumentException"
    api.video.delete_edge_configuration(StreamName="cam")
    assert status(api) == "DELETING"
    with pytest.raises(api.video.exceptions.StreamEdgeConfigurationNotFoundException):
        status(api)
    assert start(api, hub=OTHER_HUB)["EdgeConfig"]["HubDeviceArn"] == OTHER_HUB


def test_delete_edge_configuration_lifecycle(api):
    api.create_stream()
    with pytest.raises(api.video.exceptions.StreamEdgeConfigurationNotFoundException) as e:
        api.video.describe_edge_configuration(StreamName="cam")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(api.video.exceptions.StreamEdgeConfigurationNotFoundException):
        api.video.delete_edge_configuration(StreamName="cam")
    start(api)
    v = version(api)
    api.clock.advance(5)
    api.video.delete_edge_configuration(StreamName="cam")
    assert version(api) != v
    with pytest.raises(api.video.exceptions.ResourceInUseException):
        start(api)
    out = api.video.describe_edge_configuration(StreamName="cam")
    assert out["SyncStatus"] == "DELETING" and out["LastUpdatedTime"] == START + datetime.timedelta(seconds=5)
    with pytest.raises(api.video.exceptions.StreamEdgeConfigurationNotFoundException):
        api.video.describe_edge_configuration(StreamName="cam")
    assert start(api)["CreationTime"] == START + datetime.timedelta(seconds=5)   # a new configuration


def test_edge_configuration_errors(api):
    api.create_stream("zero", retention_hours=0)
    with pytest.raises(api.video.exceptions.NoDataRetentionException):
        start(api, "zero")
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        start(api, "nope")
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_edge_configuration(StreamName="nope")
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.delete_edge_configuration(StreamName="nope")
    api.create_stream()
    bad = [
        {"HubDeviceArn": "arn:aws:iot:us-east-1:123456789012:policy/x"},
        {"RecorderConfig": {"MediaSourceConfig": {"MediaUriSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:x",
                                                  "MediaUriType": "HTTP_URI"}}},
        {"DeletionConfig": {"EdgeRetentionInHours": 721}},
        {"DeletionConfig": {"LocalSizeConfig": {"MaxLocalMediaSizeInMB": 2_000_001}}},
        {"UploaderConfig": {"ScheduleConfig": {"ScheduleExpression": "0 0/5 * * * ?", "DurationInSeconds": 3601}}},
    ]
    for changes in bad:
        with pytest.raises(ClientError) as e:
            api.video.start_edge_configuration_update(StreamName="cam", EdgeConfig={**edge_config(), **changes})
        assert code(e) == "InvalidArgumentException", changes
    with pytest.raises(api.video.exceptions.StreamEdgeConfigurationNotFoundException):
        api.video.describe_edge_configuration(StreamName="cam")


# -- ListEdgeAgentConfigurations -----------------------------------------------------------

def test_list_edge_agent_configurations_by_hub_with_pagination(api):
    names = [f"cam-{i:02d}" for i in range(12)]
    for name in names:
        api.create_stream(name)
        start(api, name)
    for name in ("other-1", "other-2", "plain"):
        api.create_stream(name)
    start(api, "other-1", hub=OTHER_HUB)
    start(api, "other-2", hub=OTHER_HUB)
    first = api.video.list_edge_agent_configurations(HubDeviceArn=HUB)
    assert len(first["EdgeConfigs"]) == 5 and first["NextToken"]                 # the default page is 5
    pages = list(api.video.get_paginator("list_edge_agent_configurations").paginate(
        HubDeviceArn=HUB, PaginationConfig={"PageSize": 5}))
    assert [len(p["EdgeConfigs"]) for p in pages] == [5, 5, 2]
    listed = [c for p in pages for c in p["EdgeConfigs"]]
    assert [c["StreamName"] for c in listed] == names
    assert {c["EdgeConfig"]["HubDeviceArn"] for c in listed} == {HUB}
    assert listed[0]["StreamARN"] == api.video.describe_stream(StreamName="cam-00")["StreamInfo"]["StreamARN"]
    assert listed[0]["SyncStatus"] == "IN_SYNC"          # the first listing was the read that saw SYNCING
    other = api.video.list_edge_agent_configurations(HubDeviceArn=OTHER_HUB, MaxResults=10)
    assert [c["StreamName"] for c in other["EdgeConfigs"]] == ["other-1", "other-2"] and "NextToken" not in other
    assert api.video.list_edge_agent_configurations(
        HubDeviceArn="arn:aws:iot:us-east-1:123456789012:thing/none")["EdgeConfigs"] == []


def test_list_edge_agent_configurations_errors(api):
    api.create_stream("a")
    api.create_stream("b")
    start(api, "a")
    start(api, "b")
    token = api.video.list_edge_agent_configurations(HubDeviceArn=HUB, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as e:
        api.video.list_edge_agent_configurations(HubDeviceArn=OTHER_HUB, NextToken=token)
    assert code(e) == "InvalidArgumentException"
    for kwargs in ({"HubDeviceArn": HUB, "MaxResults": 11}, {"HubDeviceArn": "arn:aws:s3:::bucket"}):
        with pytest.raises(ClientError) as e:
            api.video.list_edge_agent_configurations(**kwargs)
        assert code(e) == "InvalidArgumentException"
    rest = api.video.list_edge_agent_configurations(HubDeviceArn=HUB, MaxResults=1, NextToken=token)
    assert [c["StreamName"] for c in rest["EdgeConfigs"]] == ["b"] and "NextToken" not in rest


# -- media storage and mapped resources ----------------------------------------------------

def channel(api, name: str = "chan") -> str:
    return api.video.create_signaling_channel(ChannelName=name)["ChannelARN"]


def storage(api, channel_arn: str) -> dict:
    return api.video.describe_media_storage_configuration(ChannelARN=channel_arn)["MediaStorageConfiguration"]


def mapped(api, name: str = "cam") -> list:
    return api.video.describe_mapped_resource_configuration(StreamName=name)["MappedResourceConfigurationList"]


def test_media_storage_maps_a_channel_to_a_stream(api):
    stream = api.create_stream()
    chan = channel(api)
    assert storage(api, chan) == {"Status": "DISABLED"}
    assert api.video.describe_media_storage_configuration(ChannelName="chan")["MediaStorageConfiguration"] == \
        {"Status": "DISABLED"}
    assert mapped(api) == []
    v0 = api.video.describe_signaling_channel(ChannelARN=chan)["ChannelInfo"]["Version"]
    api.video.update_media_storage_configuration(
        ChannelARN=chan, MediaStorageConfiguration={"StreamARN": stream, "Status": "ENABLED"})
    assert storage(api, chan) == {"StreamARN": stream, "Status": "ENABLED"}
    assert api.video.describe_signaling_channel(ChannelARN=chan)["ChannelInfo"]["Version"] != v0
    out = api.video.describe_mapped_resource_configuration(StreamARN=stream)
    assert out["MappedResourceConfigurationList"] == [{"Type": "SIGNALING_CHANNEL", "ARN": chan}]
    assert "NextToken" not in out
    # enabling again with the same stream is fine; disabling removes the mapping
    api.video.update_media_storage_configuration(
        ChannelARN=chan, MediaStorageConfiguration={"StreamARN": stream, "Status": "ENABLED"})
    api.video.update_media_storage_configuration(ChannelARN=chan, MediaStorageConfiguration={"Status": "DISABLED"})
    assert storage(api, chan) == {"Status": "DISABLED"}
    assert mapped(api) == []


def test_a_stream_stores_one_channel_and_a_channel_one_stream(api):
    s1 = api.create_stream("s1")
    s2 = api.create_stream("s2")
    c1, c2 = channel(api, "c1"), channel(api, "c2")
    api.video.update_media_storage_configuration(ChannelARN=c1, MediaStorageConfiguration={"StreamARN": s1,
                                                                                            "Status": "ENABLED"})
    with pytest.raises(api.video.exceptions.ResourceInUseException):
        api.video.update_media_storage_configuration(ChannelARN=c2, MediaStorageConfiguration={
            "StreamARN": s1, "Status": "ENABLED"})
    with pytest.raises(api.video.exceptions.ResourceInUseException):
        api.video.update_media_storage_configuration(ChannelARN=c1, MediaStorageConfiguration={
            "StreamARN": s2, "Status": "ENABLED"})
    assert storage(api, c2) == {"Status": "DISABLED"} and storage(api, c1)["StreamARN"] == s1
    assert mapped(api, "s2") == []
    api.video.update_media_storage_configuration(ChannelARN=c1, MediaStorageConfiguration={"Status": "DISABLED"})
    api.video.update_media_storage_configuration(ChannelARN=c2, MediaStorageConfiguration={"StreamARN": s1,
                                                                                            "Status": "ENABLED"})
    assert mapped(api, "s1") == [{"Type": "SIGNALING_CHANNEL", "ARN": c2}]


def test_media_storage_errors(api):
    zero = api.create_stream("zero", retention_hours=0)
    stream = api.create_stream()
    chan = channel(api)
    with pytest.raises(api.video.exceptions.NoDataRetentionException):
        api.video.update_media_storage_configuration(ChannelARN=chan, MediaStorageConfiguration={
            "StreamARN": zero, "Status": "ENABLED"})
    with pytest.raises(ClientError) as e:
        api.video.update_media_storage_configuration(ChannelARN=chan, MediaStorageConfiguration={"Status": "ENABLED"})
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_media_storage_configuration(ChannelARN=chan, MediaStorageConfiguration={
            "StreamARN": stream.replace("/cam/", "/gone/"), "Status": "ENABLED"})
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_media_storage_configuration(ChannelARN=chan.replace("/chan/", "/gone/"),
                                                     MediaStorageConfiguration={"Status": "DISABLED"})
    with pytest.raises(ClientError) as e:
        api.video.update_media_storage_configuration(ChannelARN=chan, MediaStorageConfiguration={
            "StreamARN": stream, "Status": "PAUSED"})
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_media_storage_configuration(ChannelName="gone")
    assert storage(api, chan) == {"Status": "DISABLED"}


def test_describe_mapped_resource_configuration_errors(api):
    api.create_stream()
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        mapped(api, "nope")
    with pytest.raises(ClientError) as e:
        api.video.describe_mapped_resource_configuration(StreamName="cam", MaxResults=2)
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.describe_mapped_resource_configuration(StreamName="cam", NextToken="AAAA")
    assert code(e) == "InvalidArgumentException"
    pages = list(api.video.get_paginator("describe_mapped_resource_configuration").paginate(StreamName="cam"))
    assert [p["MappedResourceConfigurationList"] for p in pages] == [[]]


# -- stream storage ------------------------------------------------------------------------

def test_stream_storage_configuration(api):
    arn = api.create_stream()
    out = api.video.describe_stream_storage_configuration(StreamName="cam")
    assert (out["StreamName"], out["StreamARN"], out["StreamStorageConfiguration"]) == \
        ("cam", arn, {"DefaultStorageTier": "HOT"})
    v0 = version(api)
    api.video.update_stream_storage_configuration(StreamARN=arn, CurrentVersion=v0,
                                                  StreamStorageConfiguration={"DefaultStorageTier": "WARM"})
    assert api.video.describe_stream_storage_configuration(StreamARN=arn)["StreamStorageConfiguration"] == \
        {"DefaultStorageTier": "WARM"}
    assert version(api) != v0
    with pytest.raises(api.video.exceptions.VersionMismatchException):
        api.video.update_stream_storage_configuration(StreamName="cam", CurrentVersion=v0,
                                                      StreamStorageConfiguration={"DefaultStorageTier": "HOT"})
    with pytest.raises(ClientError) as e:
        api.video.update_stream_storage_configuration(StreamName="cam", CurrentVersion=version(api),
                                                      StreamStorageConfiguration={"DefaultStorageTier": "COLD"})
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_stream_storage_configuration(StreamName="nope")
    api.video.create_stream(StreamName="warm", StreamStorageConfiguration={"DefaultStorageTier": "WARM"})
    assert api.video.describe_stream_storage_configuration(StreamName="warm")["StreamStorageConfiguration"] == \
        {"DefaultStorageTier": "WARM"}
