# SPDX-License-Identifier: Apache-2.0
"""Tags: TagStream / UntagStream / ListTagsForStream (maps) and TagResource / UntagResource /
ListTagsForResource (lists in, map out) on streams and signaling channels."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ParamValidationError


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def version(api, name: str = "cam") -> str:
    return api.video.describe_stream(StreamName=name)["StreamInfo"]["Version"]


def channel(api, name: str = "chan", **kwargs) -> str:
    return api.video.create_signaling_channel(ChannelName=name, **kwargs)["ChannelARN"]


def test_tag_stream_by_name_and_arn_overwrites_and_lists(api):
    arn = api.create_stream(Tags={"team": "a"})
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"] == {"team": "a"}
    before = version(api)
    api.video.tag_stream(StreamName="cam", Tags={"team": "b", "site": "lab"})
    api.video.tag_stream(StreamARN=arn, Tags={"empty": ""})
    assert api.video.list_tags_for_stream(StreamARN=arn)["Tags"] == {"team": "b", "site": "lab", "empty": ""}
    assert version(api) != before
    assert "NextToken" not in api.video.list_tags_for_stream(StreamARN=arn)


def test_untag_stream_ignores_missing_keys(api):
    api.create_stream(Tags={"a": "1", "b": "2"})
    api.video.untag_stream(StreamName="cam", TagKeyList=["a", "not-there"])
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"] == {"b": "2"}
    api.video.untag_stream(StreamName="cam", TagKeyList=["b"])
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"] == {}


def test_fifty_tags_per_stream_counting_existing_and_new_keys(api):
    api.create_stream(Tags={f"k{i}": "v" for i in range(45)})
    api.video.tag_stream(StreamName="cam", Tags={f"n{i}": "v" for i in range(5)})
    assert len(api.video.list_tags_for_stream(StreamName="cam")["Tags"]) == 50
    with pytest.raises(api.video.exceptions.TagsPerResourceExceededLimitException):
        api.video.tag_stream(StreamName="cam", Tags={"one-more": "v"})
    with pytest.raises(api.video.exceptions.TagsPerResourceExceededLimitException):
        api.video.tag_stream(StreamName="cam", Tags={"k0": "new", "one-more": "v"})
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"]["k0"] == "v"   # nothing applied
    api.video.tag_stream(StreamName="cam", Tags={"k0": "overwritten"})             # at 50, overwriting is fine
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"]["k0"] == "overwritten"
    api.video.untag_stream(StreamName="cam", TagKeyList=["k1"])
    api.video.tag_stream(StreamName="cam", Tags={"one-more": "v"})


def test_stream_tag_operations_refuse_a_channel_arn(api):
    api.create_stream()
    chan = channel(api)
    for call in (lambda: api.video.tag_stream(StreamARN=chan, Tags={"a": "b"}),
                 lambda: api.video.untag_stream(StreamARN=chan, TagKeyList=["a"]),
                 lambda: api.video.list_tags_for_stream(StreamARN=chan)):
        with pytest.raises(api.video.exceptions.InvalidResourceFormatException):
            call()


def test_stream_tag_errors(api):
    api.create_stream()
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.tag_stream(StreamName="nope", Tags={"a": "b"})
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.list_tags_for_stream(StreamARN="arn:aws:kinesisvideo:us-east-1:123456789012:stream/nope/1")
    with pytest.raises(ClientError) as e:
        api.video.tag_stream(Tags={"a": "b"})
    assert code(e) == "InvalidArgumentException"
    for tags in ({"k" * 129: "v"}, {"k": "v" * 257}, {"bad<key": "v"}, {"k": "bad>value"}):
        with pytest.raises(ClientError) as e:
            api.video.tag_stream(StreamName="cam", Tags=tags)
        assert code(e) == "InvalidArgumentException", tags
    with pytest.raises(ClientError) as e:
        api.video.tag_stream(StreamName="cam", Tags={f"k{i}": "v" for i in range(51)})
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ParamValidationError):
        api.video.untag_stream(StreamName="cam", TagKeyList=[])
    with pytest.raises(ClientError) as e:
        api.video.list_tags_for_stream(StreamName="cam", NextToken="AAAA")
    assert code(e) == "InvalidArgumentException"
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"] == {}


def test_unicode_letters_are_allowed_in_tags(api):
    api.create_stream()
    api.video.tag_stream(StreamName="cam", Tags={"Ort": "Zürich @ 5/7 + x=y", "名前": "カメラ"})
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"]["名前"] == "カメラ"


def test_tag_resource_on_a_channel(api):
    chan = channel(api, Tags=[{"Key": "a", "Value": "1"}])
    assert api.video.list_tags_for_resource(ResourceARN=chan)["Tags"] == {"a": "1"}
    before = api.video.describe_signaling_channel(ChannelARN=chan)["ChannelInfo"]["Version"]
    api.video.tag_resource(ResourceARN=chan, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}])
    assert api.video.list_tags_for_resource(ResourceARN=chan)["Tags"] == {"a": "2", "b": ""}
    assert api.video.describe_signaling_channel(ChannelARN=chan)["ChannelInfo"]["Version"] != before
    api.video.untag_resource(ResourceARN=chan, TagKeyList=["a", "zzz"])
    assert api.video.list_tags_for_resource(ResourceARN=chan)["Tags"] == {"b": ""}


def test_tag_resource_on_a_stream_is_the_same_tag_set_as_tag_stream(api):
    arn = api.create_stream(Tags={"x": "1"})
    api.video.tag_resource(ResourceARN=arn, Tags=[{"Key": "y", "Value": "2"}])
    assert api.video.list_tags_for_stream(StreamName="cam")["Tags"] == {"x": "1", "y": "2"}
    api.video.untag_stream(StreamName="cam", TagKeyList=["x"])
    assert api.video.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"y": "2"}


def test_channel_tags_from_creation_count_towards_fifty(api):
    chan = channel(api, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert len(api.video.list_tags_for_resource(ResourceARN=chan)["Tags"]) == 50
    with pytest.raises(api.video.exceptions.TagsPerResourceExceededLimitException):
        api.video.tag_resource(ResourceARN=chan, Tags=[{"Key": "new", "Value": "v"}])
    api.video.tag_resource(ResourceARN=chan, Tags=[{"Key": "k3", "Value": "w"}])
    assert api.video.list_tags_for_resource(ResourceARN=chan)["Tags"]["k3"] == "w"


def test_tag_resource_errors(api):
    chan = channel(api)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.tag_resource(ResourceARN=chan.replace("chan/", "gone/"), Tags=[{"Key": "a", "Value": "b"}])
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.list_tags_for_resource(ResourceARN="arn:aws:kinesisvideo:us-east-1:123456789012:stream/x/1")
    with pytest.raises(ClientError) as e:
        api.video.list_tags_for_resource(ResourceARN="arn:aws:kinesisvideo:us-east-1:123456789012:thing/x/1")
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.tag_resource(ResourceARN="not-an-arn", Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        api.video.tag_resource(ResourceARN=chan, Tags=[{"Key": "k" * 129, "Value": "b"}])
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ParamValidationError):
        api.video.tag_resource(ResourceARN=chan, Tags=[{"Key": "a"}])
    with pytest.raises(ClientError) as e:
        api.video.untag_resource(ResourceARN=chan, TagKeyList=["k" * 129])
    assert code(e) == "InvalidArgumentException"
    assert api.video.list_tags_for_resource(ResourceARN=chan)["Tags"] == {}


def test_create_signaling_channel_with_too_many_tags_is_refused(api):
    with pytest.raises(ClientError) as e:
        channel(api, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_signaling_channel(ChannelName="chan")
