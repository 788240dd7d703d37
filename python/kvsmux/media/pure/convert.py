# SPDX-License-Identifier: Apache-2.0
"""Demuxer results as Python values, as the binding makes them: dicts for headers and tags,
one read-only numpy structured array per fragment for its frame table, and the limits dict
read key by key.

The mirror of ``src/convert.cpp`` (``track_dict``, ``to_python``, ``events_to_python``,
``limits_from``) and of ``text`` in ``src/bindings.h`` (:func:`kvsmux.media.pure.types.text`).
"""
from __future__ import annotations

import operator

import numpy as np

from kvsmux.media.pure.ebml import UNKNOWN_SIZE
from kvsmux.media.pure.types import (
    DEFAULT_LIMITS,
    FRAME_DTYPE,
    LIMIT_BITS,
    Fragment,
    Header,
    TagsElement,
    Track,
    text,
)


def limits_from(limits) -> dict:
    """``limits_from`` in src/convert.cpp: defaults, overridden key by key."""
    out = dict(DEFAULT_LIMITS)
    if limits is None:
        return out
    for key, value in dict(limits).items():
        if key not in out:
            raise KeyError(f"unknown demuxer limit: {key}")
        try:
            number = operator.index(value)
        except TypeError:
            number = -1
        if not 0 <= number < (1 << LIMIT_BITS[key]):  # what pybind11 refuses to cast
            raise RuntimeError(f"Unable to cast Python instance of type {type(value)} to C++ type '?'")
        out[key] = number
    return out


def _track_dict(t: Track) -> dict:
    return {
        "number": t.number, "uid": t.uid, "type": t.type, "codec_id": text(t.codec_id),
        "codec_private": t.codec_private, "codec_private_range": t.codec_private_range,
        "default_duration_ns": t.default_duration_ns, "codec_delay_ns": t.codec_delay_ns,
        "seek_pre_roll_ns": t.seek_pre_roll_ns, "name": text(t.name),
        "language": text(t.language), "pixel_width": t.pixel_width,
        "pixel_height": t.pixel_height, "sampling_frequency": t.sampling_frequency, "channels": t.channels,
        "bit_depth": t.bit_depth, "codec": t.codec, "codec_error": t.codec_error,
    }


def _header_dict(h: Header) -> dict:
    return {
        "index": h.index, "byte_range": (h.offset, h.size), "segment_offset": h.segment_offset,
        "segment_size": None if h.segment_size == UNKNOWN_SIZE else h.segment_size,
        "segment_data_offset": h.segment_data_offset, "doc_type": text(h.doc_type),
        "doc_type_version": h.doc_type_version, "doc_type_read_version": h.doc_type_read_version,
        "timestamp_scale_ns": h.timestamp_scale_ns, "duration": None if h.duration < 0 else h.duration,
        "muxing_app": text(h.muxing_app), "writing_app": text(h.writing_app), "title": text(h.title),
        "tracks": [_track_dict(t) for t in h.tracks],
    }


def _tags_dict(tags: TagsElement) -> dict:
    return {
        "byte_range": tags.range,
        "simple_tags": [(text(name), None if string is None else text(string), binary)
                        for name, string, binary in tags.simple_tags],
    }


def _fragment_dict(f: Fragment) -> dict:
    frames = np.array(f.frames, dtype=FRAME_DTYPE)
    frames.setflags(write=False)
    return {
        "index": f.index, "header_index": f.header_index, "timestamp_ticks": f.timestamp_ticks,
        "timestamp_ns": f.timestamp_ns, "byte_range": (f.offset, f.size), "unknown_size": f.unknown_size,
        "truncated": f.truncated, "tags_before": [_tags_dict(t) for t in f.tags_before], "frames": frames,
    }


def events_to_python(events: list, data) -> list[tuple]:
    out = []
    for e in events:
        if isinstance(e, Header):
            out.append(("header", _header_dict(e), data))
        elif isinstance(e, Fragment):
            out.append(("fragment", _fragment_dict(e), data))
        else:
            out.append(("tags", (e.fragment_index, _tags_dict(e.tags)), None))
    return out
