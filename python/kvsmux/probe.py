# SPDX-License-Identifier: Apache-2.0
"""``kvsmux probe``: what a Matroska file holds, as a table or as JSON.

The JSON shape is a contract scripts can rely on::

    {"tracks": [{"number", "codec_id", "codec_private_size", ...}],
     "headers": [{"index", "byte_range", "doc_type", ...}],
     "fragments": [{"index", "timestamp_ns", "byte_range", "tags", "frames": [{"track", "pts_ns", "key", "size", ...}]}],
     "orphan_tags": [...],
     "error": null | {"code", "offset", "path", "message"}}
"""
from __future__ import annotations

import json
import mmap
from collections import Counter
from pathlib import Path
from typing import Any

from kvsmux.media import DemuxResult, Fragment, Tags, Track, demux


def open_input(path: Path) -> Any:
    """The file's bytes, memory-mapped read-only (no copy; the GIL is released while parsing)."""
    with open(path, "rb") as f:
        if path.stat().st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def _tag_list(tags: list[Tags], position: str) -> list[dict]:
    return [{"name": t.name, "string": t.string, "binary": t.binary.hex() if t.binary is not None else None,
             "position": position} for element in tags for t in element.simple_tags]


def track_json(t: Track) -> dict:
    return {
        "number": t.number, "uid": t.uid, "type": t.type_name, "codec_id": t.codec_id,
        "codec_private_size": len(t.codec_private), "name": t.name, "language": t.language,
        "default_duration_ns": t.default_duration_ns or None,
        "codec_delay_ns": t.codec_delay_ns or None,
        "pixel_width": t.pixel_width or None, "pixel_height": t.pixel_height or None,
        "sampling_frequency": t.sampling_frequency or None, "channels": t.channels or None,
        "bit_depth": t.bit_depth or None, "codec": t.codec,
        "codec_error": t.codec_error.to_dict() if t.codec_error else None,
    }


def fragment_duration_ns(f: Fragment) -> int:
    if len(f.frames) == 0:
        return 0
    ends = f.frames["pts_ns"] + f.frames["duration_ns"].clip(min=0)
    return int(ends.max() - f.frames["pts_ns"].min())


def fragment_json(f: Fragment) -> dict:
    frames = f.frames
    return {
        "index": f.index, "header": f.header_index, "timestamp_ns": f.timestamp_ns,
        "duration_ns": fragment_duration_ns(f), "byte_range": list(f.byte_range),
        "unknown_size": f.unknown_size, "truncated": f.truncated,
        "tags": _tag_list(f.tags_before, "before") + _tag_list(f.tags_after, "after"),
        "frames": [
            {"track": track, "pts_ns": pts, "duration_ns": dur if dur >= 0 else None, "key": key,
             "invisible": invisible, "discardable": discardable, "offset": offset, "size": size}
            for offset, pts, dur, size, track, key, invisible, discardable, _lace in frames.tolist()
        ],
    }


def to_json(result: DemuxResult) -> dict:
    return {
        "tracks": [track_json(t) for t in result.tracks],
        "headers": [
            {"index": h.index, "byte_range": list(h.byte_range), "doc_type": h.doc_type,
             "doc_type_version": h.doc_type_version, "timestamp_scale_ns": h.timestamp_scale_ns,
             "duration": h.duration, "muxing_app": h.muxing_app, "writing_app": h.writing_app,
             "segment_size": h.segment_size, "tracks": [t.number for t in h.tracks]}
            for h in result.headers],
        "fragments": [fragment_json(f) for f in result.fragments],
        "orphan_tags": _tag_list(result.orphan_tags, "none"),
        "error": result.error.to_dict() if result.error else None,
    }


def _seconds(ns: int) -> str:
    return f"{ns / 1e9:.3f}"


def to_table(result: DemuxResult, name: str) -> str:
    lines = [f"{name}: {len(result.headers)} document(s), {len(result.fragments)} fragment(s)", "", "Tracks"]
    lines.append(f"  {'#':>3}  {'type':<9}{'codec':<22}{'private':>8}  details")
    for t in result.tracks:
        if t.codec:
            c = t.codec
            size = f" {c['width']}x{c['height']}" if c["width"] else ""
            audio = f" {c['sample_rate']} Hz {c['channels']} ch" if c["sample_rate"] else ""
            detail = f"{c['codec_string']}{size}{audio}"
        elif t.codec_error:
            detail = f"codec private unreadable: {t.codec_error.detail}"
        else:
            detail = (f"{t.pixel_width}x{t.pixel_height}" if t.pixel_width else
                      f"{t.sampling_frequency:g} Hz {t.channels} ch" if t.sampling_frequency else "")
        lines.append(f"  {t.number:>3}  {t.type_name:<9}{t.codec_id:<22}{len(t.codec_private):>8}  {detail}")
    track_numbers = [t.number for t in result.tracks]
    lines += ["", "Fragments"]
    head = f"  {'#':>5}  {'timestamp s':>16}  {'duration s':>10}  " + "".join(
        f"{'t' + str(n) + ' frames/key':>16}" for n in track_numbers) + f"  {'bytes':>21}  tags"
    lines.append(head)
    for f in result.fragments:
        counts = Counter(f.frames["track"].tolist())
        keys = Counter(f.frames["track"][f.frames["key"]].tolist())
        per_track = "".join(f"{f'{counts[n]}/{keys[n]}':>16}" for n in track_numbers)
        tags = ", ".join(f"{t.name}={t.string if t.string is not None else '<binary>'}"
                         for element in f.tags for t in element.simple_tags)
        flag = " TRUNCATED" if f.truncated else ""
        lines.append(f"  {f.index:>5}  {_seconds(f.timestamp_ns):>16}  {_seconds(fragment_duration_ns(f)):>10}  "
                     f"{per_track}  {f.byte_range[0]:>10}+{f.byte_range[1]:<10}  {tags}{flag}")
    for t in result.orphan_tags:
        lines.append("  tags outside any fragment: " + ", ".join(f"{s.name}={s.string}" for s in t.simple_tags))
    if result.error:
        e = result.error
        lines += ["", f"ERROR {e.code} at byte {e.offset} in {e.path or '(top level)'}: {e.detail}"]
    return "\n".join(lines)


def probe(path: Path, *, as_json: bool, backend: str = "native") -> tuple[str, int]:
    """Returns what to print and the exit status (0 when the whole file was read)."""
    data = open_input(path)
    result = demux(data, backend=backend)
    text = json.dumps(to_json(result), indent=1) if as_json else to_table(result, path.name)
    return text, 0 if result.error is None else 1
