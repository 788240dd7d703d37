# SPDX-License-Identifier: Apache-2.0
"""A strict validator for progressive MP4 clips (STYLE §12: our own checks, because ffmpeg is
lenient), and the readable dump of the golden files.

:func:`validate` reads every sample table back (ISO/IEC 14496-12 §8.6, §8.7) and checks:
the box sizes add up; ftyp, moov, mdat in that order; stts, ctts and stsz count the same
samples and stsc the same chunks as stco/co64; the samples of all tracks tile the mdat
payload exactly (so the sizes add up to it, and every chunk offset lands on its first
sample's bytes); each sample's bytes are the input frame's, when given; the edit list is
[empty edit], media edit, with media_time the track's first composition time and the
durations in mvhd/tkhd/mdhd consistent with it; versions are 1 only when 64 bits are needed.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tests.media import boxes

U32_MAX = (1 << 32) - 1
MOVIE_TIMESCALE = 1000


@dataclass
class TrackInfo:
    track_id: int
    handler: bytes
    timescale: int
    sample_entry: bytes
    durations: list[int]
    sizes: list[int]
    cts: list[int]                  # all 0 when there is no ctts
    sync: list[int] | None          # stss sample numbers (1-based), None when absent
    samples_per_chunk: list[int]
    chunk_offsets: list[int]
    chunk_box: bytes                # b"stco" or b"co64"
    edits: list[tuple[int, int]]    # (segment_duration, media_time)
    tkhd_duration: int
    mdhd_duration: int
    sample_offsets: list[int] = field(default_factory=list)  # absolute, per sample

    @property
    def decode_times(self) -> list[int]:
        return _decode_times(self.durations)

    @property
    def presentation_times(self) -> list[int]:
        """Composition times after the edit list, in the media timescale, from the clip start."""
        media_time = self.edits[-1][1]
        empty = self.edits[0][0] if len(self.edits) == 2 else 0
        shift = (empty * self.timescale + MOVIE_TIMESCALE // 2) // MOVIE_TIMESCALE  # as FFmpeg rescales it
        return [d + c - media_time + shift for d, c in zip(self.decode_times, self.cts)]


@dataclass
class ClipInfo:
    brands: tuple[bytes, int, list[bytes]]
    movie_duration: int
    tracks: list[TrackInfo]
    mdat_payload: tuple[int, int]  # (offset, size)


class ClipError(AssertionError):
    pass


def _decode_times(durations: list[int]) -> list[int]:
    out, t = [], 0
    for d in durations:
        out.append(t)
        t += d
    return out


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ClipError(what)


def _full(data: bytes, box: boxes.Box) -> tuple[int, int, int]:
    """(version, flags, offset of the fields after them)."""
    version, flags = data[box.payload_offset], int.from_bytes(data[box.payload_offset + 1:box.payload_offset + 4], "big")
    return version, flags, box.payload_offset + 4


def _one(parent: boxes.Box, kind: str) -> boxes.Box:
    hits = parent.find(kind)
    _check(len(hits) == 1, f"{parent.type!r} holds {len(hits)} {kind!r} boxes, not 1")
    return hits[0]


def _maybe(parent: boxes.Box, kind: str) -> boxes.Box | None:
    hits = parent.find(kind)
    _check(len(hits) <= 1, f"{parent.type!r} holds {len(hits)} {kind!r} boxes")
    return hits[0] if hits else None


def _u32s(data: bytes, at: int, n: int) -> list[int]:
    return list(struct.unpack_from(f">{n}I", data, at))


def _entries(data: bytes, box: boxes.Box, width: int) -> list[tuple[int, ...]]:
    """entry_count, then entry_count entries of `width` u32 each, and nothing after them."""
    version, flags, at = _full(data, box)
    _check(version == 0 and flags == 0, f"{box.type!r} version {version} flags {flags}")
    count = struct.unpack_from(">I", data, at)[0]
    _check(at + 4 + count * width * 4 == box.offset + box.size, f"{box.type!r} size does not match its entry_count")
    flat = _u32s(data, at + 4, count * width)
    return [tuple(flat[i:i + width]) for i in range(0, len(flat), width)]


def _runs(data: bytes, box: boxes.Box) -> list[int]:
    out: list[int] = []
    for count, value in _entries(data, box, 2):
        _check(count > 0, f"{box.type!r} has a run of 0 samples")
        out += [value] * count
    return out


def _header_fields(data: bytes, box: boxes.Box, before: int) -> tuple[int, list[int], int]:
    """(version, the `before` u32 fields after the times, duration) of mvhd/tkhd/mdhd."""
    version, _flags, at = _full(data, box)
    _check(version in (0, 1), f"{box.type!r} version {version}")
    at += 16 if version == 1 else 8
    middle = _u32s(data, at, before)
    at += 4 * before
    duration = struct.unpack_from(">Q" if version == 1 else ">I", data, at)[0]
    _check((version == 1) == (duration > U32_MAX), f"{box.type!r} version {version} for duration {duration}")
    return version, middle, duration


def _elst(data: bytes, box: boxes.Box) -> list[tuple[int, int]]:
    version, flags, at = _full(data, box)
    _check(version in (0, 1) and flags == 0, f"elst version {version} flags {flags}")
    count = struct.unpack_from(">I", data, at)[0]
    width = 20 if version == 1 else 12
    _check(at + 4 + count * width == box.offset + box.size, "elst size does not match its entry_count")
    out = []
    for i in range(count):
        fmt = ">QqHH" if version == 1 else ">IiHH"
        duration, media_time, rate, fraction = struct.unpack_from(fmt, data, at + 4 + i * width)
        _check((rate, fraction) == (1, 0), f"elst media_rate {rate}.{fraction}")
        out.append((duration, media_time))
    wide = any(d > U32_MAX or not -(1 << 31) <= t < (1 << 31) for d, t in out)
    _check((version == 1) == wide, f"elst version {version} for {out}")
    return out


def _track(data: bytes, trak: boxes.Box, mdat: tuple[int, int]) -> TrackInfo:
    tkhd = _one(trak, "tkhd")
    _, tk_flags, _ = _full(data, tkhd)
    _check(tk_flags == 3, f"tkhd flags {tk_flags}")
    _, (track_id, _reserved), tkhd_duration = _header_fields(data, tkhd, 2)
    mdia = _one(trak, "mdia")
    _, (timescale,), mdhd_duration = _header_fields(data, _one(mdia, "mdhd"), 1)
    _check(timescale > 0, "mdhd timescale 0")
    hdlr = _one(mdia, "hdlr")
    handler = data[hdlr.payload_offset + 8:hdlr.payload_offset + 12]
    stbl = _one(mdia, "minf/stbl")
    stsd = _one(stbl, "stsd")
    _check(len(stsd.children) == 1, "stsd holds one sample entry")
    durations = _runs(data, _one(stbl, "stts"))
    stsz = _one(stbl, "stsz")
    version, flags, at = _full(data, stsz)
    sample_size, count = struct.unpack_from(">II", data, at)
    sizes = [sample_size] * count if sample_size else _u32s(data, at + 8, count)
    _check(at + 8 + (0 if sample_size else 4 * count) == stsz.offset + stsz.size, "stsz size")
    n = len(sizes)
    _check(len(durations) == n, f"stts counts {len(durations)} samples, stsz {n}")
    ctts_box = _maybe(stbl, "ctts")
    cts = _runs(data, ctts_box) if ctts_box else [0] * n
    _check(len(cts) == n, f"ctts counts {len(cts)} samples, stsz {n}")
    _check(ctts_box is None or any(cts), "ctts with every offset 0 should be left out")
    stss_box = _maybe(stbl, "stss")
    sync = [e[0] for e in _entries(data, stss_box, 1)] if stss_box else None
    if sync is not None:
        _check(handler == b"vide", "stss on a track that is not video")
        _check(all(1 <= a < b <= n for a, b in zip(sync, sync[1:])) and all(1 <= s <= n for s in sync),
               "stss sample numbers are not increasing within 1..n")
        _check(len(sync) < n, "stss lists every sample: it should be left out")
    offsets_boxes = [b for b in stbl.children if b.type in (b"stco", b"co64")]
    _check(len(offsets_boxes) == 1, "one stco or co64")
    chunk_box = offsets_boxes[0].type
    if chunk_box == b"stco":
        chunk_offsets = [e[0] for e in _entries(data, offsets_boxes[0], 1)]
    else:
        pairs = _entries(data, offsets_boxes[0], 2)
        chunk_offsets = [(hi << 32) | lo for hi, lo in pairs]
        _check(any(o > U32_MAX for o in chunk_offsets), "co64 where stco would do")
    stsc = _entries(data, _one(stbl, "stsc"), 3)
    chunks = len(chunk_offsets)
    samples_per_chunk: list[int] = []
    for i, (first, per_chunk, description) in enumerate(stsc):
        last = stsc[i + 1][0] - 1 if i + 1 < len(stsc) else chunks
        _check(description == 1 and per_chunk > 0, f"stsc entry {i}: {first, per_chunk, description}")
        _check((first == 1) if i == 0 else first > stsc[i - 1][0], f"stsc first_chunk {first}")
        _check(i == 0 or per_chunk != stsc[i - 1][1], "stsc entries that should be one run")
        samples_per_chunk += [per_chunk] * (last - first + 1)
    _check(len(samples_per_chunk) == chunks, f"stsc describes {len(samples_per_chunk)} chunks, {chunks} offsets")
    _check(sum(samples_per_chunk) == n, f"stsc counts {sum(samples_per_chunk)} samples, stsz {n}")
    sample_offsets = []
    for chunk_offset, per_chunk in zip(chunk_offsets, samples_per_chunk):
        at = chunk_offset
        for _ in range(per_chunk):
            size = sizes[len(sample_offsets)]
            _check(mdat[0] <= at and at + size <= mdat[0] + mdat[1], f"sample at {at} is outside the mdat payload")
            sample_offsets.append(at)
            at += size
    edts = _maybe(trak, "edts")
    edits = _elst(data, _one(edts, "elst")) if edts else []
    _check(sum(durations) == mdhd_duration, f"mdhd duration {mdhd_duration}, stts adds up to {sum(durations)}")
    if n:
        _check(len(edits) in (1, 2), f"edit list {edits}")
        if len(edits) == 2:
            _check(edits[0][1] == -1 and edits[0][0] > 0, f"first of two edits is not an empty edit: {edits}")
        media_duration, media_time = edits[-1]
        composition = [d + c for d, c in zip(_decode_times(durations), cts)]
        _check(media_time == min(composition), f"media_time {media_time}, first composition time {min(composition)}")
        _check(min(cts) == 0, "composition offsets are not shifted to start at 0")
        _check(media_duration == -(-mdhd_duration * MOVIE_TIMESCALE // timescale),
               f"media edit lasts {media_duration} ms, the media {mdhd_duration}/{timescale} s")
        _check(tkhd_duration == sum(d for d, _ in edits), f"tkhd duration {tkhd_duration}, edits {edits}")
    else:
        _check(not edits and tkhd_duration == 0 and chunks == 0, "a track without samples has no edits or chunks")
    return TrackInfo(track_id, handler, timescale, stsd.children[0].type, durations, sizes, cts, sync,
                     samples_per_chunk, chunk_offsets, chunk_box, edits, tkhd_duration, mdhd_duration, sample_offsets)


def validate(data: bytes, frames: dict[int, list[bytes]] | None = None) -> ClipInfo:
    """Checks `data` (see the module docstring); `frames` maps track_ID to the input frames'
    bytes in decode order, to compare with each sample's bytes."""
    data = bytes(data)
    top = boxes.parse(data)
    _check([b.type for b in top] == [b"ftyp", b"moov", b"mdat"], f"top-level boxes {[b.type for b in top]}")
    ftyp, moov, mdat_box = top
    major, minor = struct.unpack_from(">4sI", data, ftyp.payload_offset)
    compatible = [data[i:i + 4] for i in range(ftyp.payload_offset + 8, ftyp.offset + ftyp.size, 4)]
    mdat = (mdat_box.payload_offset, mdat_box.size - mdat_box.header_size)
    _check((mdat_box.header_size == 16) == (mdat_box.size > U32_MAX), "mdat largesize only past 32 bits")
    _, (movie_timescale,), movie_duration = _header_fields(data, _one(moov, "mvhd"), 1)
    _check(movie_timescale == MOVIE_TIMESCALE, f"mvhd timescale {movie_timescale}")
    tracks = [_track(data, trak, mdat) for trak in moov.find("trak")]
    _check(len({t.track_id for t in tracks}) == len(tracks), "track_IDs repeat")
    _check(movie_duration == max((t.tkhd_duration for t in tracks), default=0),
           f"mvhd duration {movie_duration}, tracks {[t.tkhd_duration for t in tracks]}")
    mvhd = _one(moov, "mvhd")
    version = data[mvhd.payload_offset]
    next_id = struct.unpack_from(">I", data, mvhd.offset + mvhd.size - 4)[0]
    _check(next_id > max(t.track_id for t in tracks), f"mvhd next_track_ID {next_id}")
    _check(version in (0, 1), "mvhd version")
    # The samples of all tracks tile the mdat payload: no gap, no overlap, nothing else in it.
    spans = sorted((o, s) for t in tracks for o, s in zip(t.sample_offsets, t.sizes))
    at = mdat[0]
    for offset, size in spans:
        _check(offset == at, f"mdat payload: a sample at {offset}, expected one at {at}")
        at += size
    _check(at == mdat[0] + mdat[1], f"the samples add up to {at - mdat[0]} bytes, the mdat payload is {mdat[1]}")
    for t in tracks:
        if frames is not None:
            expected = frames[t.track_id]
            _check(len(expected) == len(t.sizes), f"track {t.track_id}: {len(t.sizes)} samples, {len(expected)} frames")
            for i, (o, s) in enumerate(zip(t.sample_offsets, t.sizes)):
                _check(data[o:o + s] == expected[i], f"track {t.track_id} sample {i + 1}: bytes differ from the frame")
    return ClipInfo((major, minor, compatible), movie_duration, tracks, mdat)


def dump(data: bytes) -> str:
    """The box tree with the fields a reviewer wants to see (Bento4-style), for golden files."""
    data = bytes(data)

    def fields(d: bytes, box: boxes.Box) -> str:
        kind = box.type
        if kind == b"ftyp":
            major, minor = struct.unpack_from(">4sI", d, box.payload_offset)
            compat = b" ".join(d[i:i + 4] for i in range(box.payload_offset + 8, box.offset + box.size, 4))
            return f"major={major.decode()} minor={minor} compatible={compat.decode()}"
        if kind in (b"mvhd", b"mdhd"):
            version, (timescale,), duration = _header_fields(d, box, 1)
            return f"version={version} timescale={timescale} duration={duration}"
        if kind == b"tkhd":
            version, (track_id, _), duration = _header_fields(d, box, 2)
            width, height = struct.unpack_from(">II", d, box.offset + box.size - 8)
            return f"version={version} track_ID={track_id} duration={duration} width={width >> 16} height={height >> 16}"
        if kind == b"hdlr":
            return f"handler={d[box.payload_offset + 8:box.payload_offset + 12].decode()}"
        if kind == b"elst":
            return f"version={d[box.payload_offset]} entries={_elst(d, box)}"
        if kind in (b"stts", b"ctts"):
            return f"entries={_entries(d, box, 2)}"
        if kind == b"stsc":
            return f"entries={_entries(d, box, 3)}"
        if kind == b"stss":
            return f"samples={[e[0] for e in _entries(d, box, 1)]}"
        if kind == b"stco":
            return f"offsets={[e[0] for e in _entries(d, box, 1)]}"
        if kind == b"co64":
            return f"offsets={[(hi << 32) | lo for hi, lo in _entries(d, box, 2)]}"
        if kind == b"stsz":
            size, count = struct.unpack_from(">II", d, box.payload_offset + 4)
            return (f"sample_size={size} count={count}" if size else
                    f"count={count} sizes={_u32s(d, box.payload_offset + 12, count)}")
        if kind in (b"avcC", b"hvcC", b"esds"):
            return f"payload={d[box.payload_offset:box.offset + box.size].hex()}"
        if kind == b"mdat":
            return f"payload={box.size - box.header_size} bytes"
        return ""

    return boxes.dump(data, fields=fields) + "\n"
