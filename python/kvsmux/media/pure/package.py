# SPDX-License-Identifier: Apache-2.0
"""Whole-input repackaging in pure Python: the mirror of cpp/src/media/package.cc."""
from __future__ import annotations

from kvsmux.errors import TruncatedInputError, UnsupportedCodecError
from kvsmux.media.pure import clip, fmp4, ts
from kvsmux.media.pure.samples import timescale_for, track_samples

VIDEO, AUDIO = 1, 2
FIRST_ELEMENTARY_PID = 0x100


def _same_track(a, b) -> bool:
    return a.number == b.number and a.codec_id == b.codec_id and a.codec_private == b.codec_private


def _select_tracks(header, only):
    out = [t for t in header.tracks if (t.number == only if only is not None else t.type in (VIDEO, AUDIO))]
    if not out:
        raise UnsupportedCodecError(f"no track {only}" if only is not None else "no video or audio track",
                                    offset=header.byte_range[0])
    return out


def _first_pts(fragment, track_number):
    pts = fragment.frames["pts_ns"][fragment.frames["track"] == track_number]
    return int(pts.min()) if len(pts) else None


def _times(per_track, timescales) -> tuple[int, int]:
    start = end = None
    for samples, scale in zip(per_track, timescales):
        for s in samples:
            pts = s.pts * 1_000_000_000 // scale if s.pts >= 0 else -((-s.pts * 1_000_000_000) // scale)
            stop_ticks = s.pts + s.duration
            stop = stop_ticks * 1_000_000_000 // scale if stop_ticks >= 0 else -((-stop_ticks * 1_000_000_000) // scale)
            start = pts if start is None else min(start, pts)
            end = stop if end is None else max(end, stop)
    start = start or 0
    return start, (end or 0) - start


def package(data, container: str, track=None, first_sequence_number: int = 1, limits=None):
    """Returns the same ([{'output', 'fragment_index', 'start_ns', 'duration_ns'}], tracks, codecs)
    as kvsmux._core.package, with each output a list of byte pieces."""
    from kvsmux.media.demux import demux  # the pure demuxer through the shared model
    if container not in ("fmp4", "ts", "mp4"):
        raise ValueError("container must be 'fmp4', 'ts' or 'mp4'")
    result = demux(data, backend="pure", limits=limits)
    if result.error is not None:
        raise result.error
    if not result.headers:
        raise TruncatedInputError("input holds no Matroska header", offset=0)
    tracks = _select_tracks(result.headers[0], track)
    for h in result.headers:
        for t in tracks:
            other = h.track(t.number)
            if other is None or not _same_track(t, other):
                raise UnsupportedCodecError(f"track {t.number} changes between documents", offset=h.byte_range[0])
    is_ts = container == "ts"
    timescales = [90_000 if is_ts else timescale_for(t) for t in tracks]
    codecs = [fmp4.codec_string(t) for t in tracks]
    frags = result.fragments
    table = [[None] * len(tracks) for _ in frags]
    for ti, t in enumerate(tracks):
        nxt = None
        for k in range(len(frags) - 1, -1, -1):
            table[k][ti] = track_samples(frags[k].frames, t, timescales[ti], nxt)
            p = _first_pts(frags[k], t.number)
            if p is not None:
                nxt = p
    segments = []
    if container == "fmp4":
        init = fmp4.write_init_segment([(t, t.number, timescales[i]) for i, t in enumerate(tracks)])
        segments.append({"output": [init], "fragment_index": 0, "start_ns": 0, "duration_ns": 0})
        sequence = first_sequence_number
        for k in range(len(frags)):
            runs = [(t.number, max(0, table[k][i][0].dts), table[k][i]) for i, t in enumerate(tracks) if table[k][i]]
            if not runs:
                continue
            pieces = fmp4.write_media_segment(sequence, runs, data, 0)
            sequence += 1
            start, duration = _times(table[k], timescales)
            segments.append({"output": pieces, "fragment_index": k, "start_ns": start, "duration_ns": duration})
    elif is_ts:
        shift = [0] * len(tracks)
        for row in table:
            for i in range(len(tracks)):
                for s in row[i]:
                    shift[i] = max(shift[i], s.dts - s.pts)
        continuity = ts.Continuity()
        for k in range(len(frags)):
            pes = [(t, FIRST_ELEMENTARY_PID + i, table[k][i], shift[i]) for i, t in enumerate(tracks) if table[k][i]]
            if not pes:
                continue
            out = ts.write_segment(pes, data, 0, continuity)
            start, duration = _times(table[k], timescales)
            segments.append({"output": [out], "fragment_index": k, "start_ns": start, "duration_ns": duration})
    else:
        clip_tracks = [clip.ClipTrack(t, t.number, timescales[i], [(data, 0, table[k][i]) for k in range(len(frags))
                                                                    if table[k][i]])
                       for i, t in enumerate(tracks)]
        segments.append({"output": clip.write_clip(clip_tracks), "fragment_index": 0, "start_ns": 0, "duration_ns": 0})
    return segments, [t.number for t in tracks], codecs

