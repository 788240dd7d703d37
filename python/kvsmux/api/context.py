# SPDX-License-Identifier: Apache-2.0
"""What every KVS operation runs with: the configuration, an injectable clock and random
source (STYLE §10: tests are deterministic), and the identifiers KVS hands out."""
from __future__ import annotations

import dataclasses
import datetime
import random
import threading
import time
from typing import Protocol

#: AWS quotas the service enforces; every one can be changed or switched off (None).
#: Values from the KVS service quotas page (KVS-WIRE-FACTS §8).
DEFAULT_ACCOUNT_TPS = {
    "CreateStream": 50, "DescribeStream": 300, "GetDataEndpoint": 300, "ListStreams": 50,
    "ListEdgeAgentConfigurations": 50, "StartEdgeConfigurationUpdate": 10, "DeleteEdgeConfiguration": 10,
}
DEFAULT_STREAM_TPS = {
    "DescribeStream": 5, "GetDataEndpoint": 5, "DeleteStream": 5, "UpdateStream": 5, "UpdateDataRetention": 5,
    "TagStream": 5, "UntagStream": 5, "ListTagsForStream": 5, "DescribeImageGenerationConfiguration": 5,
    "UpdateImageGenerationConfiguration": 5, "DescribeNotificationConfiguration": 5,
    "UpdateNotificationConfiguration": 5, "DescribeMappedResourceConfiguration": 5,
    "DescribeEdgeConfiguration": 5, "UpdateStreamStorageConfiguration": 5, "DescribeStreamStorageConfiguration": 5,
    "StartEdgeConfigurationUpdate": 1, "DeleteEdgeConfiguration": 1,
    "PutMedia": 5, "GetMedia": 5, "GetHLSStreamingSessionURL": 25, "GetDASHStreamingSessionURL": 25,
}


@dataclasses.dataclass
class Config:
    """Service settings. ``limits=False`` switches every quota off at once."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    #: What GetDataEndpoint returns for every APIName: the server's own base URL.
    endpoint_url: str = "http://127.0.0.1:4567"
    max_streams: int | None = 10_000
    max_channels: int | None = 10_000
    limits: bool = True
    account_tps: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_ACCOUNT_TPS))
    stream_tps: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_STREAM_TPS))
    #: Concurrent connections per stream (the 4th GetMedia gets ConnectionLimitExceededException).
    get_media_connections: int | None = 3
    get_media_for_fragment_list_connections: int | None = 5
    #: Fragment-based throttling, points per second per stream (KVS-WIRE-FACTS §8.3).
    fragment_metadata_points: float | None = 10_000
    fragment_media_points: float | None = 500
    # PutMedia (KVS-WIRE-FACTS §4.3, §4.4, §8.2)
    max_fragment_duration_ms: int = 20_000
    max_fragment_bytes: int = 50 * 1024 * 1024
    max_tracks: int = 3
    max_fragment_metadata_tags: int = 10
    max_connection_seconds: float = 45 * 60
    #: IDLE acks are sent this often while the producer sends nothing; after idle_timeout
    #: seconds without data the service ends the PutMedia request.
    idle_ack_interval_seconds: float = 1.0
    idle_timeout_seconds: float = 30.0
    # GetMedia (KVS-WIRE-FACTS §5.1)
    #: Whether FRAGMENT_NUMBER starts at AfterFragmentNumber itself (what AWS samples rely on)
    #: or at the fragment after it (what the API reference says).
    get_media_after_fragment_inclusive: bool = True
    #: A GetMedia that has caught up ends after this long without a new fragment.
    get_media_idle_timeout_seconds: float = 10.0
    # Retention 0: the in-memory buffer GetMedia reads (KVS-WIRE-FACTS §3.1 CreateStream)
    live_buffer_seconds: float = 300.0
    live_buffer_bytes: int = 200 * 1000 * 1000


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """A clock tests move by hand; ``sleep`` advances it instead of waiting."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._ms = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._ms

    def advance(self, seconds: float = 0.0, *, ms: int = 0) -> None:
        with self._lock:
            self._ms += round(seconds * 1000) + ms

    def set(self, ms: int) -> None:
        with self._lock:
            self._ms = ms

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        time.sleep(0)  # let other threads run


def to_datetime(ms: int) -> datetime.datetime:
    """Epoch milliseconds as the timezone-aware datetime boto3 returns."""
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z``
    (``2022-01-28T07:00:35.931Z``): HLS PROGRAM-DATE-TIME and DASH times."""
    moment = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def to_ms(value: datetime.datetime | int | float) -> int:
    """A request timestamp (datetime, or epoch seconds as any JSON number) in epoch ms."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return round(value.timestamp() * 1000)
    return round(float(value) * 1000)


class Identifiers:
    """ARNs, versions and fragment numbers in the real formats (KVS-WIRE-FACTS §9)."""

    _ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    def __init__(self, config: Config, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng or random.SystemRandom()
        self._lock = threading.Lock()

    def arn(self, kind: str, name: str, creation_ms: int) -> str:
        """``arn:aws:kinesisvideo:us-east-1:123456789012:stream/NAME/CREATION_MS``."""
        c = self.config
        return f"arn:aws:kinesisvideo:{c.region}:{c.account_id}:{kind}/{name}/{creation_ms}"

    def version(self) -> str:
        """A new 20-character version, as every metadata change gets."""
        with self._lock:
            return "".join(self.rng.choice(self._ALNUM) for _ in range(20))

    def fragment_number(self, seq: int, server_ms: int) -> str:
        """A 47-digit decimal number shaped like KVS's: 2**156, the per-stream sequence from
        bit 92, the server timestamp in ms at bits 28-71, random low bits. Numbers grow
        strictly with ``seq``."""
        with self._lock:
            low = self.rng.getrandbits(28)
        return str((1 << 156) + (seq << 92) + ((server_ms & ((1 << 44) - 1)) << 28) + low)
