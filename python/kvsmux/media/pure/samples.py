# SPDX-License-Identifier: Apache-2.0
"""Matroska frames to ISO BMFF samples: the mirror of cpp/src/media/samples.cc.

Tracks are :class:`kvsmux.media.model.Track`; frames are rows of a FRAME_DTYPE array.
"""
from __future__ import annotations

from dataclasses import dataclass

from kvsmux.errors import InvalidValueError

VIDEO, AUDIO = 1, 2
_U32_MAX = (1 << 32) - 1
_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1
_I64_MAX = (1 << 63) - 1


@dataclass
class Sample:
    """One access unit, in decode order, with times in the track's timescale."""

    offset: int          # absolute input offset of the frame data
    size: int
    pts: int
    dts: int = 0
    duration: int = 0
    cts_offset: int = 0  # pts - dts; negative with B-frames
    sync: bool = False


def timescale_for(track) -> int:
    """90 kHz for video, the sample rate for audio, 1 kHz otherwise."""
    if track.type == VIDEO:
        return 90_000
    if track.type == AUDIO:
        if track.codec and track.codec["sample_rate"]:
            return track.codec["sample_rate"]
        if 1.0 <= track.sampling_frequency <= 1_000_000.0:
            return int(track.sampling_frequency + 0.5)
    return 1000


def ns_to_timescale(ns: int, timescale: int) -> int:
    """Nanoseconds to timescale units, rounded to the nearest unit (halves away from zero)."""
    scaled = ns * timescale
    half = 500_000_000
    return (scaled + half) // 1_000_000_000 if scaled >= 0 else -((-scaled + half) // 1_000_000_000)


def default_frame_duration_ns(track) -> int:
    if track.default_duration_ns and track.default_duration_ns < _I64_MAX:
        return track.default_duration_ns
    if track.codec and track.codec_id.startswith("A_AAC") and track.codec["sample_rate"]:
        return 1024 * 1_000_000_000 // track.codec["sample_rate"]
    return 0


def track_samples(frames, track, timescale: int, next_pts_ns: int | None = None) -> list[Sample]:
    """The samples of one track of a fragment; see media/samples.h for the rules."""
    audio = track.type == AUDIO  # every audio frame decodes on its own, flagged or not
    out = [Sample(offset=int(f["offset"]), size=int(f["size"]), pts=ns_to_timescale(int(f["pts_ns"]), timescale),
                  sync=bool(f["key"]) or audio)
           for f in frames if int(f["track"]) == track.number]
    ordered = sorted(s.pts for s in out)
    default_duration = ns_to_timescale(default_frame_duration_ns(track), timescale)
    for i, s in enumerate(out):
        s.dts = ordered[i]
        if i + 1 < len(out):
            duration = ordered[i + 1] - ordered[i]
        elif next_pts_ns is not None and ns_to_timescale(next_pts_ns, timescale) > ordered[i]:
            duration = ns_to_timescale(next_pts_ns, timescale) - ordered[i]
        elif default_duration > 0:
            duration = default_duration
        else:
            duration = out[i - 1].duration if i > 0 else 0
        cts = s.pts - s.dts
        if not 0 <= duration <= _U32_MAX:
            raise InvalidValueError(f"sample duration {duration} does not fit 32 bits", offset=s.offset)
        if not _I32_MIN <= cts <= _I32_MAX:
            raise InvalidValueError("composition offset does not fit 32 bits", offset=s.offset)
        s.duration, s.cts_offset = duration, cts
    return out
