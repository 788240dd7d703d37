# SPDX-License-Identifier: Apache-2.0
"""Per-stream image generation and notification configurations (KVS API reference,
kinesisvideo: Update/DescribeImageGenerationConfiguration,
Update/DescribeNotificationConfiguration). Both live in the stream's attributes; an
Update without the configuration removes it ("If the structure is null, the
configuration will be deleted from the stream"), and every Update gives the stream a new
Version.

Checks beyond the model's shapes, from its doc strings: SamplingInterval is at least
200 ms; the FormatConfig value of JPEGQuality is an integer 1-100; DestinationRegion
must be the stream's Region; a configuration with Status ENABLED needs a stream that
keeps data (NoDataRetentionException at retention 0).

Gaps: the configurations are only recorded. No images are generated or delivered to S3,
and no SNS notifications are sent. Nothing checks that the Uri's bucket or topic exists.
"""
from __future__ import annotations

from typing import Any

from kvsmux.api.errors import KvsError
from kvsmux.api.registry import operation
from kvsmux.api.resources import SERVICE, invalid, modify
from kvsmux.api.streams import find_stream
from kvsmux.store import Resource

#: KVS API: ImageGenerationConfiguration.SamplingInterval ("The minimum value ... is 200 ms").
MIN_SAMPLING_INTERVAL_MS = 200
#: KVS API: ImageGenerationConfiguration.FormatConfig ("accepts ints from 1 to 100").
JPEG_QUALITY_RANGE = (1, 100)


def require_retention(stream: Resource, what: str) -> None:
    """NoDataRetentionException when ``stream`` keeps no data (retention 0)."""
    if not stream.attrs.get("DataRetentionInHours", 0):
        raise KvsError("NoDataRetentionException",
                       f"The stream {stream.name} has a data retention of 0 hours; {what} needs a stream that "
                       "retains data.", service=SERVICE)


def _check_image_generation(kvs: Any, config: dict) -> None:
    interval = config["SamplingInterval"]
    if interval < MIN_SAMPLING_INTERVAL_MS:
        raise invalid(f"SamplingInterval is {interval} ms; the minimum is {MIN_SAMPLING_INTERVAL_MS} ms.")
    low, high = JPEG_QUALITY_RANGE
    for key, value in (config.get("FormatConfig") or {}).items():
        # The model already limits the key to JPEGQuality and the value to [a-zA-Z_0-9]+.
        if not (value.isdigit() and low <= int(value) <= high):
            raise invalid(f"FormatConfig {key} is '{value}'; it must be an integer from {low} to {high}.")
    region = config["DestinationConfig"]["DestinationRegion"]
    if region != kvs.config.region:
        raise invalid(f"DestinationRegion {region} must be the Region of the stream ({kvs.config.region}).")


def _update(kvs: Any, p: dict, key: str) -> None:
    """Sets (or, when absent, removes) the stream attribute ``key``."""
    config = p.get(key)

    def edit(s: Resource) -> dict:
        if config is not None and config["Status"] == "ENABLED":
            require_retention(s, f"an ENABLED {key}")
        attrs = {k: v for k, v in s.attrs.items() if k != key}
        if config is not None:
            attrs[key] = config
        return {"attrs": attrs}

    modify(kvs, find_stream(kvs, p), edit)


@operation(SERVICE, "UpdateImageGenerationConfiguration")
def update_image_generation_configuration(kvs: Any, p: dict) -> dict:
    config = p.get("ImageGenerationConfiguration")
    if config is not None:
        _check_image_generation(kvs, config)
    _update(kvs, p, "ImageGenerationConfiguration")
    return {}


@operation(SERVICE, "DescribeImageGenerationConfiguration")
def describe_image_generation_configuration(kvs: Any, p: dict) -> dict:
    """No ImageGenerationConfiguration member when the stream has none."""
    return {"ImageGenerationConfiguration": find_stream(kvs, p).attrs.get("ImageGenerationConfiguration")}


@operation(SERVICE, "UpdateNotificationConfiguration")
def update_notification_configuration(kvs: Any, p: dict) -> dict:
    _update(kvs, p, "NotificationConfiguration")
    return {}


@operation(SERVICE, "DescribeNotificationConfiguration")
def describe_notification_configuration(kvs: Any, p: dict) -> dict:
    """No NotificationConfiguration member when the stream has none."""
    return {"NotificationConfiguration": find_stream(kvs, p).attrs.get("NotificationConfiguration")}
