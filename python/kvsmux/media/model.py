# SPDX-License-Identifier: Apache-2.0
"""What demuxing a Matroska input gives: headers, tracks, fragments, frames and tags.

The same classes come out of both backends (native C++ and the pure-Python reference).
Frame tables are read-only numpy structured arrays (:data:`FRAME_DTYPE`); frame payloads
are read-only memoryviews into the input, which they keep alive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from kvsmux.errors import MediaError

#: One row per frame; the layout of the C++ ``kvsmux::mkv::Frame`` struct.
FRAME_DTYPE = np.dtype({
    "names": ["offset", "pts_ns", "duration_ns", "size", "track", "key", "invisible", "discardable", "lace"],
    "formats": ["<u8", "<i8", "<i8", "<u4", "<u4", "?", "?", "?", "u1"],
    "offsets": [0, 8, 16, 24, 28, 32, 33, 34, 35],
    "itemsize": 40,
})

#: RFC 9559 TrackType values.
TRACK_TYPES = {1: "video", 2: "audio", 3: "complex", 16: "logo", 17: "subtitle", 18: "buttons",
               19: "control", 33: "metadata"}


def _view(data: Any, byte_range: tuple[int, int]) -> memoryview:
    """A read-only view of input bytes at an absolute range, from the object that holds them."""
    base = getattr(data, "offset", 0)
    buf = getattr(data, "data", data)  # the pure backend's Block keeps its bytes in .data
    start = byte_range[0] - base
    view = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf.cast("B")
    return view[start:start + byte_range[1]].toreadonly()


@dataclass(eq=True)
class Track:
    """A TrackEntry (RFC 9559 §5.1.4.1) and what its codec private says."""

    number: int
    uid: int
    type: int
    codec_id: str
    codec_private: bytes
    codec_private_range: tuple[int, int]
    default_duration_ns: int
    codec_delay_ns: int
    seek_pre_roll_ns: int
    name: str
    language: str
    pixel_width: int
    pixel_height: int
    sampling_frequency: float
    channels: int
    bit_depth: int
    codec: dict | None
    codec_error: MediaError | None

    @property
    def type_name(self) -> str:
        return TRACK_TYPES.get(self.type, str(self.type))


@dataclass(eq=True)
class Header:
    """One EBML document's header: its bytes run from the EBML header to the first Cluster."""

    index: int
    byte_range: tuple[int, int]
    segment_offset: int
    segment_size: int | None
    segment_data_offset: int
    doc_type: str
    doc_type_version: int
    doc_type_read_version: int
    timestamp_scale_ns: int
    duration: float | None
    muxing_app: str
    writing_app: str
    title: str
    tracks: list[Track]
    data: Any = field(default=None, repr=False, compare=False)

    @property
    def bytes(self) -> memoryview:
        """The header's bytes (what GetMedia repeats in front of each fragment)."""
        return _view(self.data, self.byte_range)

    def track(self, number: int) -> Track | None:
        return next((t for t in self.tracks if t.number == number), None)


@dataclass(eq=True)
class SimpleTag:
    name: str
    string: str | None
    binary: bytes | None


@dataclass(eq=True)
class Tags:
    """A segment-level Tags element, flattened to its SimpleTags."""

    byte_range: tuple[int, int]
    simple_tags: list[SimpleTag]

    def get(self, name: str) -> str | None:
        return next((t.string for t in self.simple_tags if t.name == name), None)


@dataclass(eq=False)
class Fragment:
    """A Cluster: KVS's fragment. ``frames`` is a read-only numpy array of FRAME_DTYPE."""

    index: int
    header_index: int
    timestamp_ticks: int
    timestamp_ns: int
    byte_range: tuple[int, int]
    unknown_size: bool
    truncated: bool
    frames: np.ndarray
    tags_before: list[Tags]
    tags_after: list[Tags] = field(default_factory=list)
    header: Header | None = field(default=None, repr=False)
    data: Any = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fragment):
            return NotImplemented
        return (self.index, self.header_index, self.timestamp_ticks, self.timestamp_ns, self.byte_range,
                self.unknown_size, self.truncated, self.tags_before, self.tags_after) == (
                other.index, other.header_index, other.timestamp_ticks, other.timestamp_ns, other.byte_range,
                other.unknown_size, other.truncated, other.tags_before, other.tags_after) and \
            self.frames.dtype == other.frames.dtype and np.array_equal(self.frames, other.frames)

    @property
    def bytes(self) -> memoryview:
        """The Cluster element's bytes, verbatim."""
        return _view(self.data, self.byte_range)

    def payload(self, i: int) -> memoryview:
        """Frame ``i``'s data: a read-only view into the input, no copy."""
        row = self.frames[i]
        return _view(self.data, (int(row["offset"]), int(row["size"])))

    def payloads(self) -> Iterator[memoryview]:
        for i in range(len(self.frames)):
            yield self.payload(i)

    @property
    def tags(self) -> list[Tags]:
        return self.tags_before + self.tags_after


@dataclass(eq=True)
class DemuxResult:
    """Everything read from one input, and the error that stopped it (None if it read to the end)."""

    headers: list[Header]
    fragments: list[Fragment]
    orphan_tags: list[Tags]  # Tags in a document that has no Cluster
    error: MediaError | None

    @property
    def tracks(self) -> list[Track]:
        return self.headers[0].tracks if self.headers else []

    def raise_if_error(self) -> "DemuxResult":
        if self.error is not None:
            raise self.error
        return self
