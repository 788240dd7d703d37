# SPDX-License-Identifier: Apache-2.0
"""SimpleBlock and Block (RFC 9559 §10), with Xiph, fixed-size and EBML lacing: one block's
frames, as rows of the frame table.

The mirror of ``cpp/src/mkv/block.cc``: lace sizes, timestamps and durations computed with
the same 64-bit arithmetic, and the same errors at the same offsets.
"""
from __future__ import annotations

from kvsmux.errors import (
    ElementOverflowError,
    InvalidValueError,
    LacingError,
    LimitExceededError,
    MediaError,
    TruncatedInputError,
    UnknownTrackError,
)
from kvsmux.media.pure.ebml import Reader, read_vint
from kvsmux.media.pure.types import INT64_MAX, MASK64, UNKNOWN_DURATION, Header, div_i64, i64, mul_i64


# --- SimpleBlock and Block, with lacing (cpp/src/mkv/block.cc) ------------------------

_FLAG_KEYFRAME = 0x80     # SimpleBlock only
_FLAG_INVISIBLE = 0x08
_FLAG_LACING_MASK = 0x06
_FLAG_DISCARDABLE = 0x01  # SimpleBlock only
_XIPH_LACING, _FIXED_LACING, _EBML_LACING = 2, 4, 6


def _read_lace_sizes(r: Reader, lacing: int, count: int) -> list[int]:
    """RFC 9559 §10.3: the sizes of the first n-1 laces; the last takes what remains."""
    at = r.offset()
    sizes = []
    total = 0
    if lacing == _XIPH_LACING:
        # §10.3.2: each size is a run of 255s ended by a byte below 255.
        for _ in range(count - 1):
            size = 0
            b = 255
            while b == 255:
                if r.empty():
                    raise LacingError("Xiph lace sizes run past the block", offset=r.offset())
                b = r.u8()
                size += b
            sizes.append(size)
            total += size
    elif lacing == _EBML_LACING:
        # §10.3.3: the first size as a VINT, then signed VINT differences.
        previous = 0
        for i in range(count - 1):
            try:
                raw, length = read_vint(r)
            except MediaError:
                raise LacingError("EBML lace sizes run past the block", offset=r.offset()) from None
            size = raw if i == 0 else previous + raw - ((1 << (7 * length - 1)) - 1)
            if size < 0 or size > r.remaining():
                raise LacingError("EBML lace size out of range", offset=at)
            sizes.append(size)
            previous = size
            total += size
            if total > r.remaining():
                raise LacingError("lace sizes exceed the block", offset=at)
    else:  # _FIXED_LACING, §10.3.4: equal sizes that divide the data exactly.
        if r.remaining() % count != 0:
            raise LacingError(f"{r.remaining()} bytes do not divide into {count} laces", offset=at)
        sizes = [r.remaining() // count] * (count - 1)
        total = r.remaining() // count * (count - 1)
    if total > r.remaining():
        raise LacingError("lace sizes exceed the block", offset=at)
    sizes.append(r.remaining() - total)
    return sizes


def parse_block(r: Reader, simple: bool, has_duration: bool, duration_ticks: int, has_reference: bool,
                cluster_timestamp_ticks: int, header: Header, limits: dict, out: list[tuple]) -> None:
    """RFC 9559 §10.1 (Block) and §10.2 (SimpleBlock): appends the block's frames to ``out``.
    For a Block, the BlockGroup gives BlockDuration and ReferenceBlock."""
    at = r.offset()
    try:
        track_number, _ = read_vint(r)
    except TruncatedInputError as e:
        raise ElementOverflowError(e.detail, offset=e.offset) from None
    track = header.find_track(track_number)
    if track is None:
        raise UnknownTrackError(f"block for track {track_number}, not in Tracks", offset=at)
    if r.remaining() < 3:
        raise ElementOverflowError("block header runs past the block", offset=at)
    relative_ticks = r.uint(2)
    flags = r.u8()
    if relative_ticks >= 0x8000:  # int16
        relative_ticks -= 0x10000
    block_ticks = cluster_timestamp_ticks + relative_ticks
    if cluster_timestamp_ticks > INT64_MAX // 2:
        raise InvalidValueError("cluster Timestamp out of range", offset=at)

    count = 1
    lacing = flags & _FLAG_LACING_MASK
    if lacing:
        if r.empty():
            raise ElementOverflowError("lace count runs past the block", offset=at)
        count = r.u8() + 1
        if count > limits["max_lace_count"]:
            raise LimitExceededError("too many laces", offset=at)
        sizes = _read_lace_sizes(r, lacing, count)
    else:
        sizes = [r.remaining()]
    if sizes[0] > 0xFFFFFFFF and count == 1:
        raise LimitExceededError("frame larger than 4 GiB", offset=at)

    # Lace timestamps as FFmpeg's matroskadec computes them, so the two agree to the tick:
    # the block's duration (BlockDuration, else DefaultDuration × laces) is shared out.
    scale = header.timestamp_scale_ns
    scale_i64 = i64(scale)
    block_duration_ticks = 0
    if has_duration:
        block_duration_ticks = i64(duration_ticks)
    elif count > 1 and track.default_duration_ns:
        block_duration_ticks = i64(((track.default_duration_ns * count) & MASK64) // scale)

    key = bool(flags & _FLAG_KEYFRAME) if simple else not has_reference
    invisible = bool(flags & _FLAG_INVISIBLE)
    discardable = simple and bool(flags & _FLAG_DISCARDABLE)
    track_u32 = track.number & 0xFFFFFFFF
    offset = r.offset()
    elapsed_ticks = 0
    for i in range(count):
        if len(out) >= limits["max_frames_per_cluster"]:
            raise LimitExceededError(f"more than {limits['max_frames_per_cluster']} frames in a cluster", offset=at)
        pts_ns = mul_i64(i64(block_ticks + elapsed_ticks), scale_i64)
        if pts_ns is None:
            raise InvalidValueError("timestamp overflows 64-bit nanoseconds", offset=at)
        if count > 1:
            lace_ticks = i64(div_i64(i64(block_duration_ticks * (i + 1)), count)
                             - div_i64(i64(block_duration_ticks * i), count))
            duration_ns = i64(lace_ticks * scale_i64) if lace_ticks else UNKNOWN_DURATION
            elapsed_ticks = i64(elapsed_ticks + lace_ticks)
        elif has_duration:
            duration_ns = mul_i64(block_duration_ticks, scale_i64)
            if duration_ns is None:
                duration_ns = UNKNOWN_DURATION
        else:
            duration_ns = i64(track.default_duration_ns) if track.default_duration_ns else UNKNOWN_DURATION
        out.append((offset, pts_ns, duration_ns, sizes[i] & 0xFFFFFFFF, track_u32, key, invisible, discardable,
                    i if count > 1 else 0))
        offset += sizes[i]
