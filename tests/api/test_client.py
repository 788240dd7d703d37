# SPDX-License-Identifier: Apache-2.0
"""kvsmux.Client: one boto3-style client for the three KVS services, in memory or on a
data directory."""
from __future__ import annotations

import botocore.exceptions
import pytest
from botocore.exceptions import ClientError, ParamValidationError

import kvsmux


@pytest.fixture
def client():
    with kvsmux.Client() as c:
        yield c


def test_the_union_client_has_every_method_of_the_three_services(client):
    arn = client.create_stream(StreamName="cam", DataRetentionInHours=1)["StreamARN"]
    assert arn.startswith("arn:aws:kinesisvideo:us-east-1:123456789012:stream/cam/")
    assert callable(client.list_fragments) and callable(client.get_media) and callable(client.get_clip)
    assert {"list_fragments", "get_media", "create_signaling_channel", "put_media"} <= set(dir(client))
    with pytest.raises(AttributeError):
        client.not_an_operation


def test_paginators_come_from_botocore(client):
    assert client.can_paginate("list_streams") and client.can_paginate("list_fragments")
    assert not client.can_paginate("describe_stream") and not client.can_paginate("no_such_op")
    for i in range(5):
        client.create_stream(StreamName=f"s{i}")
    pages = list(client.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["StreamInfoList"]) for p in pages] == [2, 2, 1]
    with pytest.raises(ValueError):
        client.get_paginator("no_such_op")


def test_exceptions_are_client_errors_with_the_code(client):
    cls = client.exceptions.ResourceNotFoundException
    assert issubclass(cls, botocore.exceptions.ClientError)
    with pytest.raises(cls) as e:
        client.describe_stream(StreamName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == "The requested stream is not found or not active."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    client.create_stream(StreamName="cam")
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.create_stream(StreamName="cam")
    with pytest.raises(client.exceptions.InvalidArgumentException):
        client.create_stream(StreamName="bad name")


def test_client_side_validation_is_boto3s(client):
    with pytest.raises(ParamValidationError):
        client.create_stream(StreamName="")
    with pytest.raises(ParamValidationError):
        client.describe_signaling_channel(ChannelName="")
    with pytest.raises(ParamValidationError):
        client.update_stream(StreamName="cam")          # CurrentVersion is required
    assert client.list_streams()["StreamInfoList"] == []


def test_in_memory_clients_do_not_share_state():
    with kvsmux.Client() as a, kvsmux.Client() as b:
        a.create_stream(StreamName="cam")
        a.create_signaling_channel(ChannelName="chan")
        assert b.list_streams()["StreamInfoList"] == []
        assert b.list_signaling_channels()["ChannelInfoList"] == []


def test_a_data_directory_keeps_state_across_reopening(tmp_path):
    with kvsmux.Client(tmp_path) as c:
        arn = c.create_stream(StreamName="cam", DataRetentionInHours=24, Tags={"a": "1"})["StreamARN"]
        chan = c.create_signaling_channel(ChannelName="chan")["ChannelARN"]
        version = c.describe_stream(StreamName="cam")["StreamInfo"]["Version"]
        c.update_data_retention(StreamARN=arn, CurrentVersion=version, Operation="INCREASE_DATA_RETENTION",
                                DataRetentionChangeInHours=24)
        for i in range(3):
            c.create_stream(StreamName=f"more-{i}")
        token = c.list_streams(MaxResults=2)["NextToken"]
        before = c.describe_stream(StreamName="cam")["StreamInfo"]
    with kvsmux.Client(tmp_path) as c:
        assert c.describe_stream(StreamName="cam")["StreamInfo"] == before
        assert before["DataRetentionInHours"] == 48
        assert c.list_tags_for_stream(StreamARN=arn)["Tags"] == {"a": "1"}
        assert c.describe_signaling_channel(ChannelARN=chan)["ChannelInfo"]["ChannelName"] == "chan"
        # a NextToken from before the restart still works (the token key is kept with the data)
        rest = c.list_streams(MaxResults=10, NextToken=token)["StreamInfoList"]
        assert [s["StreamName"] for s in rest] == ["more-1", "more-2"]
        c.delete_stream(StreamARN=arn)
    with kvsmux.Client(tmp_path) as c:
        with pytest.raises(c.exceptions.ResourceNotFoundException):
            c.describe_stream(StreamName="cam")
        with pytest.raises(ClientError) as e:
            c.create_signaling_channel(ChannelName="chan")
        assert e.value.response["Error"]["Code"] == "ResourceInUseException"
