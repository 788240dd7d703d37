# SPDX-License-Identifier: Apache-2.0
"""What the demuxer reports, and the integer arithmetic it reports it with.

The mirror of ``cpp/include/kvsmux/mkv/types.h``: the frame table layout (``mkv::Frame``),
the named limits (``mkv::Limits``) and the Track, Header, TagsElement, Fragment and
TagsEvent structs. Also the helpers that make Python integers behave like the C++ ones:
64-bit values wrap where the C++ casts or multiplies without a check, so hostile values
give the same numbers in both.
"""
from __future__ import annotations

import numpy as np

from kvsmux.errors import MediaError

# The frame table layout of the C++ `mkv::Frame` (PYBIND11_NUMPY_DTYPE), 40 bytes a row.
FRAME_DTYPE = np.dtype({
    "names": ["offset", "pts_ns", "duration_ns", "size", "track", "key", "invisible", "discardable", "lace"],
    "formats": ["<u8", "<i8", "<i8", "<u4", "<u4", "?", "?", "?", "u1"],
    "offsets": [0, 8, 16, 24, 28, 32, 33, 34, 35],
    "itemsize": 40,
})

# Named limits, so hostile input cannot make parsing slow or huge (`mkv::Limits`).
DEFAULT_LIMITS = {
    "max_element_size": 64 << 20,      # any element read whole (Info, Tracks, Tags, blocks)
    "max_cluster_size": 512 << 20,     # one fragment's bytes
    "max_frames_per_cluster": 200_000,
    "max_tracks": 64,
    "max_depth": 32,                   # nested SimpleTags
    "max_lace_count": 256,             # the format's own maximum
    "max_work_per_byte": 16,           # parse steps per input byte, plus a base
    "work_base": 1 << 16,
}
# The width in bits of each `mkv::Limits` field.
LIMIT_BITS = {"max_element_size": 64, "max_cluster_size": 64, "max_frames_per_cluster": 32, "max_tracks": 32,
              "max_depth": 32, "max_lace_count": 32, "max_work_per_byte": 64, "work_base": 64}

MASK64 = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1
UNKNOWN_DURATION = -1  # `kUnknownDuration`


def i64(value: int) -> int:
    """``static_cast<int64_t>`` of an integer taken modulo 2**64."""
    value &= MASK64
    return value - (1 << 64) if value > INT64_MAX else value


def mul_i64(a: int, b: int) -> int | None:
    """``a * b`` when it fits in int64 (``__builtin_mul_overflow`` is false), else None."""
    product = a * b
    return product if -(1 << 63) <= product <= INT64_MAX else None


def div_i64(a: int, b: int) -> int:
    """C++ integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def text(s: bytes) -> str:
    """Text from the input as str (``text`` in src/bindings.h): Matroska strings are meant
    to be UTF-8, but the input may say anything, so invalid bytes become U+FFFD."""
    return s.decode("utf-8", "replace")


class Track:
    """RFC 9559 §5.1.4.1 TrackEntry. Strings stay bytes until they are handed to Python."""

    def __init__(self) -> None:
        self.number = 0
        self.uid = 0
        self.type = 0
        self.codec_id = b""
        self.codec_private_range = (0, 0)  # absolute; size 0 when absent
        self.codec_private = b""
        self.default_duration_ns = 0      # 0 when absent
        self.codec_delay_ns = 0           # CodecDelay: decoder output to discard (Opus pre-skip)
        self.seek_pre_roll_ns = 0         # SeekPreRoll
        self.name = b""
        self.language = b""
        self.pixel_width = 0
        self.pixel_height = 0
        self.sampling_frequency = 0.0
        self.channels = 0
        self.bit_depth = 0
        self.codec: dict | None = None    # the CodecSummary as its dict; None when not parsed
        self.codec_error: MediaError | None = None  # why `codec` could not be filled in


class Header:
    """One EBML document's header: EBML header, Segment start, Info, Tracks and whatever
    else precedes the first Cluster."""

    def __init__(self, index: int, offset: int) -> None:
        self.index = index
        self.offset = offset
        self.size = 0
        self.segment_offset = 0
        self.segment_size = 0                 # UNKNOWN_SIZE if unknown
        self.segment_data_offset = 0
        self.doc_type = b""
        self.doc_type_version = 0
        self.doc_type_read_version = 0
        self.timestamp_scale_ns = 1_000_000
        self.duration = -1.0                  # in TimestampScale units; -1 when absent
        self.muxing_app = b""
        self.writing_app = b""
        self.title = b""
        self.tracks: list[Track] = []

    def find_track(self, number: int) -> Track | None:
        for track in self.tracks:
            if track.number == number:
                return track
        return None


class TagsElement:
    """One segment-level Tags element; simple tags are [name, string, binary] lists."""

    def __init__(self, offset: int, size: int) -> None:
        self.range = (offset, size)
        self.simple_tags: list[list] = []


class Fragment:
    """One Cluster. Frames are tuples in FRAME_DTYPE field order."""

    def __init__(self, index: int = 0, header_index: int = 0, offset: int = 0, unknown_size: bool = False) -> None:
        self.index = index
        self.header_index = header_index
        self.timestamp_ticks = 0
        self.timestamp_ns = 0
        self.offset = offset
        self.size = 0
        self.unknown_size = unknown_size
        self.truncated = False
        self.frames: list[tuple] = []
        self.tags_before: list[TagsElement] = []


class TagsEvent:
    """Tags that follow fragment ``fragment_index``, or belong to none (-1)."""

    def __init__(self, fragment_index: int, tags: TagsElement) -> None:
        self.fragment_index = fragment_index
        self.tags = tags
