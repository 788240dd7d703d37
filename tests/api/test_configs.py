# SPDX-License-Identifier: Apache-2.0
"""Image generation and notification configurations of a stream."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def version(api, name: str = "cam") -> str:
    return api.video.describe_stream(StreamName=name)["StreamInfo"]["Version"]


def image_config(**changes) -> dict:
    config = {"Status": "ENABLED", "ImageSelectorType": "SERVER_TIMESTAMP",
              "DestinationConfig": {"Uri": "s3://bucket/prefix", "DestinationRegion": "us-east-1"},
              "SamplingInterval": 3000, "Format": "JPEG", "FormatConfig": {"JPEGQuality": "80"},
              "WidthPixels": 640, "HeightPixels": 480}
    config.update(changes)
    return config


NOTIFY = {"Status": "ENABLED", "DestinationConfig": {"Uri": "arn:aws:sns:us-east-1:123456789012:topic"}}


# -- image generation ----------------------------------------------------------------------

def test_image_generation_round_trip_and_removal(api):
    arn = api.create_stream()
    assert "ImageGenerationConfiguration" not in api.video.describe_image_generation_configuration(StreamName="cam")
    v0 = version(api)
    api.video.update_image_generation_configuration(StreamName="cam", ImageGenerationConfiguration=image_config())
    got = api.video.describe_image_generation_configuration(StreamARN=arn)["ImageGenerationConfiguration"]
    assert got == image_config()
    v1 = version(api)
    assert v1 != v0
    second = image_config(Status="DISABLED", Format="PNG", SamplingInterval=200, FormatConfig={"JPEGQuality": "1"})
    del second["WidthPixels"], second["HeightPixels"]
    api.video.update_image_generation_configuration(StreamARN=arn, ImageGenerationConfiguration=second)
    assert api.video.describe_image_generation_configuration(StreamName="cam")["ImageGenerationConfiguration"] == second
    api.video.update_image_generation_configuration(StreamName="cam")          # no configuration: removed
    assert "ImageGenerationConfiguration" not in api.video.describe_image_generation_configuration(StreamName="cam")
    assert len({v0, v1, version(api)}) == 3


def test_image_generation_needs_data_retention_when_enabled(api):
    api.create_stream(retention_hours=0)
    with pytest.raises(api.video.exceptions.NoDataRetentionException):
        api.video.update_image_generation_configuration(StreamName="cam", ImageGenerationConfiguration=image_config())
    api.video.update_image_generation_configuration(
        StreamName="cam", ImageGenerationConfiguration=image_config(Status="DISABLED"))
    got = api.video.describe_image_generation_configuration(StreamName="cam")["ImageGenerationConfiguration"]
    assert got["Status"] == "DISABLED"


@pytest.mark.parametrize("changes", [
    {"SamplingInterval": 199},
    {"FormatConfig": {"JPEGQuality": "0"}},
    {"FormatConfig": {"JPEGQuality": "101"}},
    {"FormatConfig": {"JPEGQuality": "high"}},
    {"FormatConfig": {"Quality": "80"}},
    {"FormatConfig": {"JPEGQuality": "8.5"}},
    {"WidthPixels": 3841},
    {"HeightPixels": 2161},
    {"Format": "GIF"},
    {"Status": "ON"},
    {"ImageSelectorType": "NOW"},
    {"DestinationConfig": {"Uri": "s3://bucket/prefix", "DestinationRegion": "eu-west-1"}},
    {"DestinationConfig": {"Uri": "no-scheme", "DestinationRegion": "us-east-1"}},
    {"DestinationConfig": {"Uri": "s3://bucket/prefix", "DestinationRegion": "US-EAST-1"}},
])
def test_image_generation_checks_beyond_what_boto3_checks(api, changes):
    api.create_stream()
    with pytest.raises(ClientError) as e:
        api.video.update_image_generation_configuration(StreamName="cam",
                                                        ImageGenerationConfiguration=image_config(**changes))
    assert code(e) == "InvalidArgumentException"
    assert "ImageGenerationConfiguration" not in api.video.describe_image_generation_configuration(StreamName="cam")


def test_image_generation_unknown_stream(api):
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_image_generation_configuration(StreamName="nope", ImageGenerationConfiguration=image_config())
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_image_generation_configuration(StreamName="nope")
    with pytest.raises(ClientError) as e:
        api.video.describe_image_generation_configuration()
    assert code(e) == "InvalidArgumentException"


# -- notifications -------------------------------------------------------------------------

def test_notification_round_trip_and_removal(api):
    api.create_stream()
    assert "NotificationConfiguration" not in api.video.describe_notification_configuration(StreamName="cam")
    v0 = version(api)
    api.video.update_notification_configuration(StreamName="cam", NotificationConfiguration=NOTIFY)
    assert api.video.describe_notification_configuration(StreamName="cam")["NotificationConfiguration"] == NOTIFY
    assert version(api) != v0
    api.video.update_notification_configuration(StreamName="cam")
    assert "NotificationConfiguration" not in api.video.describe_notification_configuration(StreamName="cam")


def test_notification_needs_data_retention_when_enabled(api):
    api.create_stream(retention_hours=0)
    with pytest.raises(api.video.exceptions.NoDataRetentionException):
        api.video.update_notification_configuration(StreamName="cam", NotificationConfiguration=NOTIFY)
    disabled = {**NOTIFY, "Status": "DISABLED"}
    api.video.update_notification_configuration(StreamName="cam", NotificationConfiguration=disabled)
    assert api.video.describe_notification_configuration(StreamName="cam")["NotificationConfiguration"] == disabled


def test_notification_errors(api):
    api.create_stream()
    for config in ({**NOTIFY, "Status": "MAYBE"}, {**NOTIFY, "DestinationConfig": {"Uri": "x" * 256}},
                   {**NOTIFY, "DestinationConfig": {"Uri": "nothing-here"}}):
        with pytest.raises(ClientError) as e:
            api.video.update_notification_configuration(StreamName="cam", NotificationConfiguration=config)
        assert code(e) == "InvalidArgumentException"
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.update_notification_configuration(StreamName="nope", NotificationConfiguration=NOTIFY)
    with pytest.raises(api.video.exceptions.ResourceNotFoundException):
        api.video.describe_notification_configuration(StreamARN="arn:aws:kinesisvideo:us-east-1:1:stream/nope/1")
