# SPDX-License-Identifier: Apache-2.0
"""Streams through boto3-style clients: CreateStream, DescribeStream, GetDataEndpoint,
ListStreams, UpdateStream, DeleteStream, UpdateDataRetention, and the stream quotas."""
from __future__ import annotations

import base64
import datetime
import re

import numpy as np
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from kvsmux.api.context import Config
from kvsmux.media.model import FRAME_DTYPE

START = datetime.datetime.fromtimestamp(1_700_000_000, tz=datetime.timezone.utc)


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def info(api, name: str = "cam") -> dict:
    return api.video.describe_stream(StreamName=name)["StreamInfo"]


# -- CreateStream / DescribeStream / GetDataEndpoint -------------------------------------------

def test_create_then_describe_returns_every_member_in_the_real_formats(api):
    api.clock.advance(ms=123)
    arn = api.video.create_stream(StreamName="cam", DataRetentionInHours=24, MediaType="video/h264",
                                  DeviceName="dev-1")["StreamARN"]
    assert arn == "arn:aws:kinesisvideo:us-east-1:123456789012:stream/cam/1700000000123"
    s = info(api)
    assert s["StreamName"] == "cam" and s["StreamARN"] == arn
    assert s["CreationTime"] == START + datetime.timedelta(milliseconds=123)
    assert re.fullmatch(r"[A-Za-z0-9]{20}", s["Version"])
    assert (s["Status"], s["DataRetentionInHours"], s["MediaType"], s["DeviceName"]) == \
        ("ACTIVE", 24, "video/h264", "dev-1")
    assert s["KmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:alias/aws/kinesisvideo"
    assert api.video.describe_stream(StreamARN=arn)["StreamInfo"] == s


def test_create_defaults_retention_to_zero_and_refuses_a_duplicate_name(api):
    api.video.create_stream(StreamName="cam")
    assert info(api)["DataRetentionInHours"] == 0
    assert "MediaType" not in info(api)
    with pytest.raises(api.video.exceptions.ResourceInUseException) as e:
        api.video.create_stream(StreamName="cam")
    assert "cam" in e.value.response["Error"]["Message"]


def test_create_refuses_retention_past_ten_years(api):
    with pytest.raises(ClientError) as e:
        api.video.create_stream(StreamName="cam", DataRetentionInHours=87_601)
    assert code(e) == "InvalidArgumentException"


def test_describe_unknown_stream_is_not_found_with_the_real_message(api):
    with pytest.raises(api.video.exceptions.ResourceNotFoundException) as e:
        api.video.describe_stream(StreamName="nope")
    assert e.value.response["Error"]["Message"] == "The requested stream is not found or not active."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_describe_needs_a_name_or_an_arn(api):
    with pytest.raises(ClientError) as e:
        api.video.describe_stream()
    assert code(e) == "InvalidArgumentException"


def test_describe_refuses_a_name_and_arn_of_different_streams(api):
    arn = api.create_stream("a")
    api.create_stream("b")
    with pytest.raises(ClientError) as e:
        api.video.describe_stream(StreamName="b", StreamARN=arn)
    assert code(e) == "InvalidArgumentException"


@pytest.mark.parametrize("kwargs", [
    {"StreamName": "bad name!"},
    {"StreamName": "x" * 257},
    {"StreamName": "cam", "DeviceName": "d" * 129},
    {"StreamName": "cam", "MediaType": "h264"},
])
def test_create_checks_max_and_pattern_on_the_server(api, kwargs):
    with pytest.raises(ClientError) as e:
        api.video.create_stream(**kwargs)
    assert code(e) == "InvalidArgumentException"
    assert "failed to satisfy constraint" in e.value.response["Error"]["Message"]


def test_empty_stream_name_is_refused_by_boto3_itself(api):
    with pytest.raises(ParamValidationError):
        api.video.create_stream(StreamName="")


def test_get_data_endpoint_is_the_server_itself(api):
    api.create_stream()
    server = api.video.meta.endpoint_url  # http://127.0.0.1:4567 in-process (the default), the server's URL over HTTP
    assert server == api.endpoint_url
    for name in ("PUT_MEDIA", "GET_MEDIA", "LIST_FRAGMENTS", "GET_HLS_STREAMING_SESSION_URL"):
        assert api.video.get_data_endpoint(StreamName="cam", APIName=name)["DataEndpoint"] == server
    with pytest.raises(ClientError) as e:
        api.video.get_data_endpoint(StreamName="cam", APIName="NOT_AN_API")
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.get_data_endpoint(StreamName="other", APIName="PUT_MEDIA")


# -- ListStreams ---------------------------------------------------------------------------

def test_list_streams_pages_through_250_streams_in_name_order(api):
    names = [f"cam-{i:03d}" for i in range(250)]
    for name in reversed(names):
        api.create_stream(name)
    pages = list(api.video.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 7}))
    assert len(pages) == 36
    assert all(len(p["StreamInfoList"]) == 7 for p in pages[:-1]) and len(pages[-1]["StreamInfoList"]) == 5
    assert [s["StreamName"] for p in pages for s in p["StreamInfoList"]] == names
    assert all("NextToken" in p for p in pages[:-1]) and "NextToken" not in pages[-1]
    first = pages[0]["StreamInfoList"][0]
    assert first == info(api, "cam-000")


def test_list_streams_without_max_results_returns_everything_in_one_page(api):
    for i in range(12):
        api.create_stream(f"s{i:02d}")
    page = api.video.list_streams()
    assert len(page["StreamInfoList"]) == 12 and "NextToken" not in page
    assert api.video.list_streams(MaxResults=12).get("NextToken") is None
    assert api.video.list_streams(MaxResults=11).get("NextToken")


def test_list_streams_filters_on_the_name_prefix(api):
    for name in ("door-1", "door-2", "garage", "doorbell"):
        api.create_stream(name)
    cond = {"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "door"}
    first = api.video.list_streams(StreamNameCondition=cond, MaxResults=2)
    assert [s["StreamName"] for s in first["StreamInfoList"]] == ["door-1", "door-2"]
    rest = api.video.list_streams(StreamNameCondition=cond, MaxResults=2, NextToken=first["NextToken"])
    assert [s["StreamName"] for s in rest["StreamInfoList"]] == ["doorbell"] and "NextToken" not in rest
    assert api.video.list_streams(StreamNameCondition={"ComparisonOperator": "BEGINS_WITH",
                                                       "ComparisonValue": "zzz"})["StreamInfoList"] == []


def test_list_streams_refuses_a_tampered_or_foreign_next_token(api):
    for i in range(5):
        api.create_stream(f"s{i}")
    token = api.video.list_streams(MaxResults=2)["NextToken"]
    raw = bytearray(base64.b64decode(token))
    raw[5] ^= 1
    for bad in (base64.b64encode(bytes(raw)).decode(), "AAAA", token[:-4]):
        with pytest.raises(ClientError) as e:
            api.video.list_streams(MaxResults=2, NextToken=bad)
        assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.list_streams(MaxResults=2, NextToken=token,
                               StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "s"})
    assert code(e) == "InvalidArgumentException"
    # MaxResults may change between pages
    assert [s["StreamName"] for s in api.video.list_streams(MaxResults=3, NextToken=token)["StreamInfoList"]] == \
        ["s2", "s3", "s4"]


def test_list_streams_max_results_range(api):
    with pytest.raises(ClientError) as e:
        api.video.list_streams(MaxResults=10_001)
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ParamValidationError):
        api.video.list_streams(MaxResults=0)
    with pytest.raises(ClientError) as e:
        api.video.list_streams(StreamNameCondition={"ComparisonOperator": "ENDS_WITH", "ComparisonValue": "x"})
    assert code(e) == "InvalidArgumentException"


# -- UpdateStream --------------------------------------------------------------------------

def test_update_stream_changes_metadata_and_version(api):
    api.create_stream(MediaType="video/h264", DeviceName="d1")
    before = info(api)
    api.video.update_stream(StreamName="cam", CurrentVersion=before["Version"], MediaType="video/h265")
    after = info(api)
    assert after["MediaType"] == "video/h265" and after["DeviceName"] == "d1"
    assert after["Version"] != before["Version"]
    api.video.update_stream(StreamARN=after["StreamARN"], CurrentVersion=after["Version"], DeviceName="d2")
    third = info(api)
    assert third["DeviceName"] == "d2" and third["MediaType"] == "video/h265"
    assert third["Version"] not in (before["Version"], after["Version"])
    assert third["CreationTime"] == before["CreationTime"]


def test_update_stream_with_an_old_version_is_a_version_mismatch(api):
    api.create_stream()
    old = info(api)["Version"]
    api.video.update_stream(StreamName="cam", CurrentVersion=old, MediaType="video/h264")
    with pytest.raises(api.video.exceptions.VersionMismatchException):
        api.video.update_stream(StreamName="cam", CurrentVersion=old, MediaType="audio/aac")
    assert info(api)["MediaType"] == "video/h264"


def test_update_stream_errors(api):
    api.create_stream()
    version = info(api)["Version"]
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_stream(StreamName="nope", CurrentVersion=version)
    with pytest.raises(ClientError) as e:
        api.video.update_stream(StreamName="cam", CurrentVersion="not-alnum!")
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.update_stream(StreamName="cam", CurrentVersion=version, MediaType="no-slash")
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ParamValidationError):
        api.video.update_stream(StreamName="cam")
    assert info(api)["Version"] == version


# -- DeleteStream --------------------------------------------------------------------------

def test_delete_stream_by_arn(api):
    arn = api.create_stream()
    api.video.delete_stream(StreamARN=arn)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_stream(StreamName="cam")
    assert api.video.list_streams()["StreamInfoList"] == []
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.delete_stream(StreamARN=arn)


def test_delete_stream_checks_the_version_when_given(api):
    arn = api.create_stream()
    version = info(api)["Version"]
    api.video.update_stream(StreamARN=arn, CurrentVersion=version, DeviceName="d")
    with pytest.raises(api.video.exceptions.VersionMismatchException):
        api.video.delete_stream(StreamARN=arn, CurrentVersion=version)
    assert info(api)["StreamARN"] == arn
    api.video.delete_stream(StreamARN=arn, CurrentVersion=info(api)["Version"])
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_stream(StreamARN=arn)


def test_an_arn_of_a_deleted_stream_does_not_name_its_successor(api):
    old = api.create_stream()
    api.video.delete_stream(StreamARN=old)
    api.clock.advance(1)
    new = api.create_stream()
    assert new != old
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.delete_stream(StreamARN=old)
    assert info(api)["StreamARN"] == new


def test_delete_stream_takes_only_an_arn(api):
    with pytest.raises(ParamValidationError):
        api.video.delete_stream(StreamName="cam")
    with pytest.raises(ClientError) as e:
        api.video.delete_stream(StreamARN="cam")
    assert code(e) == "InvalidArgumentException"


# -- UpdateDataRetention -------------------------------------------------------------------

def retention(api, op: str, hours: int, version: str | None = None) -> None:
    api.video.update_data_retention(StreamName="cam", CurrentVersion=version or info(api)["Version"],
                                    Operation=op, DataRetentionChangeInHours=hours)


def test_update_data_retention_is_relative_and_gives_a_new_version(api):
    api.create_stream(retention_hours=24)
    v0 = info(api)["Version"]
    retention(api, "INCREASE_DATA_RETENTION", 10)
    assert info(api)["DataRetentionInHours"] == 34
    v1 = info(api)["Version"]
    retention(api, "DECREASE_DATA_RETENTION", 33)
    assert info(api)["DataRetentionInHours"] == 1
    retention(api, "DECREASE_DATA_RETENTION", 1)
    assert info(api)["DataRetentionInHours"] == 0
    assert len({v0, v1, info(api)["Version"]}) == 3


def test_update_data_retention_stays_within_0_and_87600(api):
    api.create_stream(retention_hours=2)
    with pytest.raises(ClientError) as e:
        retention(api, "DECREASE_DATA_RETENTION", 3)
    assert code(e) == "InvalidArgumentException"
    retention(api, "INCREASE_DATA_RETENTION", 87_598)
    assert info(api)["DataRetentionInHours"] == 87_600
    with pytest.raises(ClientError) as e:
        retention(api, "INCREASE_DATA_RETENTION", 1)
    assert code(e) == "InvalidArgumentException"
    assert info(api)["DataRetentionInHours"] == 87_600


def test_update_data_retention_errors(api):
    api.create_stream()
    old = info(api)["Version"]
    retention(api, "INCREASE_DATA_RETENTION", 1, old)
    with pytest.raises(api.video.exceptions.VersionMismatchException):
        retention(api, "INCREASE_DATA_RETENTION", 1, old)
    with pytest.raises(ClientError) as e:
        retention(api, "GROW", 1)
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ParamValidationError):
        retention(api, "INCREASE_DATA_RETENTION", 0)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_data_retention(StreamName="nope", CurrentVersion=old, Operation="INCREASE_DATA_RETENTION",
                                        DataRetentionChangeInHours=1)


def _add_fragments(api, stream_arn: str, server_ms: list[int]) -> int:
    """Looks inside (PutMedia is not served yet): index rows for empty fragments."""
    store = api.kvs.store
    stream = store.resource("stream", arn=stream_arn)
    with store.writer(stream.id) as w:
        for ms in server_ms:
            seq = w.next_seq()
            w.append(seq=seq, number=str(1000 + seq), header=b"h", cluster=b"c", after=b"", server_ms=ms,
                     producer_ms=ms, duration_ms=1000, timecode=0, frames=np.zeros(0, dtype=FRAME_DTYPE))
    return stream.id


def _fragment_times(api, stream_id: int) -> list[int]:
    return [f.server_ms for f in api.kvs.store.fragments(stream_id)]


def test_decreasing_retention_deletes_older_data_at_once_and_all_of_it_at_zero(api):
    arn = api.create_stream(retention_hours=10)
    now = api.clock.now_ms()
    hour = 3_600_000
    stream_id = _add_fragments(api, arn, [now - 5 * hour, now - 3 * hour, now - hour // 2])
    retention(api, "INCREASE_DATA_RETENTION", 2)
    assert len(_fragment_times(api, stream_id)) == 3
    retention(api, "DECREASE_DATA_RETENTION", 8)          # 12 -> 4 hours
    assert _fragment_times(api, stream_id) == [now - 3 * hour, now - hour // 2]
    retention(api, "DECREASE_DATA_RETENTION", 4)          # -> 0: everything goes
    assert _fragment_times(api, stream_id) == []


# -- quotas --------------------------------------------------------------------------------

def test_describe_stream_is_limited_to_5_per_second_per_stream(make_api):
    api = make_api(config=Config())
    api.create_stream("a")
    api.create_stream("b")
    for _ in range(5):
        api.video.describe_stream(StreamName="a")
    with pytest.raises(api.video.exceptions.ClientLimitExceededException) as e:
        api.video.describe_stream(StreamName="a")
    assert "DescribeStream" in e.value.response["Error"]["Message"]
    api.video.describe_stream(StreamName="b")             # another stream has its own budget
    api.clock.advance(1)
    for _ in range(5):
        api.video.describe_stream(StreamName="a")


def test_account_stream_limit(make_api):
    api = make_api(config=Config(limits=False, max_streams=2))
    api.create_stream("a")
    arn = api.create_stream("b")
    with pytest.raises(api.video.exceptions.AccountStreamLimitExceededException):
        api.create_stream("c")
    api.video.delete_stream(StreamARN=arn)
    api.create_stream("c")
