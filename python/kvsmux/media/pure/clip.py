# SPDX-License-Identifier: Apache-2.0
"""One progressive MP4 from a list of fragments (KVS GetClip, ``kvsmux repackage --to mp4``)
in pure Python: the mirror of ``cpp/src/mp4/clip.cc`` and ``cpp/src/mp4/sample_tables.cc``,
byte for byte, error for error. The headers and sample entries are in
:mod:`kvsmux.media.pure.mp4_boxes`.

Choices (the same as the C++ core):

* Layout: ftyp (major isom, minor 512; compatible isom, iso2, avc1 when there is H.264,
  mp41), moov before mdat (fast start), mdat with 64-bit largesize only past 4 GiB. One chunk
  per piece (fragment) per track, chunks in time order of their first decode time (the lower
  track first on a tie). stco, or co64 for a track whose chunk offsets pass 32 bits.
* Timeline: the clip starts at t0, the earliest presentation time of any track. A track's
  decode times are its durations end to end, shifted earlier by the largest (decode time -
  presentation time) so that ctts (version 0; absent when all offsets are 0) is >= 0. Its
  edit list: an empty edit of (first pts - t0) in ms, rounded to nearest, when not 0; then
  the whole media from the first presentation time, its duration in ms rounded up.
* stss only for video tracks that have a non-sync sample; stsz without a table when all
  sizes are equal. mvhd timescale 1000; mvhd/tkhd/mdhd durations filled in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kvsmux.errors import InvalidValueError, LimitExceededError, TruncatedInputError
from kvsmux.media.pure.fmp4 import write_mdat_header
from kvsmux.media.pure.mp4_sample_entry import checked_codec_config
from kvsmux.media.pure.mp4_boxes import (AVC, U32_MAX, CodecConfig, Writer, write_dinf, write_ftyp,
                                         write_hdlr, write_mdhd, write_media_header, write_mvhd, write_stsd,
                                         write_tkhd)

MOVIE_TIMESCALE = 1000  # mvhd and elst segment durations: milliseconds
EMPTY_EDIT = -1         # ISO/IEC 14496-12 §8.6.6.3: media_time of an empty edit
_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1


class ClipTrack:
    """A track of the clip: ``pieces`` are ``(input, input_offset, [Sample])`` per fragment,
    in time order (samples in decode order, times in ``timescale``)."""

    def __init__(self, track, track_id: int, timescale: int, pieces: list) -> None:
        self.track = track
        self.track_id = track_id
        self.timescale = timescale
        self.pieces = pieces


# --- sample_tables.cc ---------------------------------------------------------------------

def _runs(values) -> list[tuple[int, int, int]]:
    """(run length, value, index of the run's first element) for each run of equal values."""
    out: list[tuple[int, int, int]] = []
    for i, v in enumerate(values):
        if out and out[-1][1] == v:
            out[-1] = (out[-1][0] + 1, v, out[-1][2])
        else:
            out.append((1, v, i))
    return out


def write_stts(w: Writer, durations) -> None:
    # TimeToSampleBox, ISO/IEC 14496-12 §8.6.1.2.
    with w.box(b"stts", 0, 0):
        runs = _runs(durations)
        w.u32(len(runs))
        for count, delta, _ in runs:
            w.u32(count)
            w.u32(delta)


def write_ctts(w: Writer, offsets) -> None:
    # CompositionOffsetBox, ISO/IEC 14496-12 §8.6.1.3 (version 0: unsigned offsets).
    with w.box(b"ctts", 0, 0):
        runs = _runs(offsets)
        w.u32(len(runs))
        for count, offset, _ in runs:
            w.u32(count)
            w.u32(offset)


def write_stss(w: Writer, sample_numbers) -> None:
    # SyncSampleBox, ISO/IEC 14496-12 §8.6.2.
    with w.box(b"stss", 0, 0):
        w.u32(len(sample_numbers))
        for n in sample_numbers:
            w.u32(n)


def write_stsz(w: Writer, sizes) -> None:
    # SampleSizeBox, ISO/IEC 14496-12 §8.7.3.2: a constant (nonzero) size is written once.
    with w.box(b"stsz", 0, 0):
        constant = bool(sizes) and sizes[0] != 0 and len(_runs(sizes)) == 1
        w.u32(sizes[0] if constant else 0)
        w.u32(len(sizes))
        if not constant:
            for s in sizes:
                w.u32(s)


def write_stsc(w: Writer, samples_per_chunk) -> None:
    # SampleToChunkBox, ISO/IEC 14496-12 §8.7.4.
    with w.box(b"stsc", 0, 0):
        runs = _runs(samples_per_chunk)
        w.u32(len(runs))
        for _, samples, first in runs:
            w.u32(first + 1)  # first_chunk is 1-based
            w.u32(samples)
            w.u32(1)          # sample_description_index


def write_stco(w: Writer, offsets) -> None:
    # ChunkOffsetBox, ISO/IEC 14496-12 §8.7.5.
    with w.box(b"stco", 0, 0):
        w.u32(len(offsets))
        for o in offsets:
            w.u32(o)


def write_co64(w: Writer, offsets) -> None:
    # ChunkLargeOffsetBox, ISO/IEC 14496-12 §8.7.5.
    with w.box(b"co64", 0, 0):
        w.u32(len(offsets))
        for o in offsets:
            w.u64(o)


def write_chunk_offsets(w: Writer, offsets) -> None:
    """stco when every offset fits 32 bits, else co64."""
    (write_stco if all(o <= U32_MAX for o in offsets) else write_co64)(w, offsets)


def write_elst(w: Writer, edits) -> None:
    # EditListBox, ISO/IEC 14496-12 §8.6.6; edits are (segment_duration, media_time).
    wide = any(d > U32_MAX or not _I32_MIN <= t <= _I32_MAX for d, t in edits)
    with w.box(b"elst", 1 if wide else 0, 0):
        w.u32(len(edits))
        for duration, media_time in edits:
            if wide:
                w.u64(duration)
                w.uint(media_time & 0xFFFFFFFFFFFFFFFF, 8)
            else:
                w.u32(duration)
                w.i32(media_time)
            w.i16(1)  # media_rate_integer
            w.i16(0)  # media_rate_fraction


def write_edts(w: Writer, edits) -> None:
    # EditBox, ISO/IEC 14496-12 §8.6.5.
    with w.box(b"edts"):
        write_elst(w, edits)


# --- clip.cc ------------------------------------------------------------------------------

@dataclass
class _TrackLayout:
    """One track's sample tables and timeline, computed once from its pieces."""

    clip: ClipTrack
    codec: CodecConfig
    durations: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    cts_offsets: list = field(default_factory=list)
    sync_numbers: list = field(default_factory=list)
    chunk_samples: list = field(default_factory=list)
    chunk_positions: list = field(default_factory=list)  # from the mdat payload start
    media_duration: int = 0
    first_pts: int = 0
    media_time: int = 0
    all_sync: bool = True
    edits: list = field(default_factory=list)
    duration: int = 0  # movie timescale

    @property
    def empty(self) -> bool:
        return not self.sizes


def _view(data) -> memoryview:
    return data.cast("B") if isinstance(data, memoryview) else memoryview(data).cast("B")


def _layout_samples(clip: ClipTrack, codec: CodecConfig) -> _TrackLayout:
    t = _TrackLayout(clip, codec)
    pts, where = [], []
    for data, input_offset, samples in clip.pieces:
        if not samples:
            continue  # no chunk: a chunk holds at least one sample
        if len(samples) > U32_MAX or len(t.chunk_samples) >= U32_MAX:
            raise LimitExceededError("too many chunks or samples in one piece", offset=input_offset)
        t.chunk_samples.append(len(samples))
        size = len(_view(data))
        for s in samples:
            at = s.offset - input_offset
            if s.offset < input_offset or at > size or s.size > size - at:
                raise TruncatedInputError(f"sample of {s.size} bytes is outside the input", offset=s.offset)
            t.durations.append(s.duration)
            t.sizes.append(s.size)
            pts.append(s.pts)
            where.append(s.offset)
            if s.sync:
                t.sync_numbers.append(len(t.sizes))
            else:
                t.all_sync = False
        if len(t.sizes) > U32_MAX:
            raise LimitExceededError("more than 2^32-1 samples in one track", offset=input_offset)
    if t.empty:
        return t
    # decode[i] = sum of the durations before i; base = min(pts - decode) is the input time of
    # media time 0, so every offset pts - base - decode is >= 0 and the smallest is 0.
    decode, base = 0, pts[0]
    for p, d in zip(pts, t.durations):
        base = min(base, p - decode)
        decode += d
    t.media_duration = decode
    decode = 0
    for p, d, at in zip(pts, t.durations, where):
        offset = p - base - decode
        if offset > U32_MAX:
            raise InvalidValueError("composition offset does not fit 32 bits", offset=at)
        t.cts_offsets.append(offset)
        decode += d
    t.first_pts = min(pts)
    t.media_time = t.first_pts - base
    return t


def _earlier(a: int, ta: int, b: int, tb: int) -> bool:
    """a / ta < b / tb, exactly."""
    return a * tb < b * ta


def _place_chunks(tracks: list[_TrackLayout]) -> tuple[int, list]:
    """Places every chunk in the mdat payload, in time order over all tracks; returns the
    payload size and the media views in that order (adjacent frames joined)."""
    nxt = [0] * len(tracks)
    position = 0
    media: list = []
    last = None  # (input object, start, end) of media[-1]
    while True:
        best = None
        for i, t in enumerate(tracks):
            pieces = t.clip.pieces
            while nxt[i] < len(pieces) and not pieces[nxt[i]][2]:
                nxt[i] += 1
            if nxt[i] == len(pieces):
                continue
            if best is None or _earlier(pieces[nxt[i]][2][0].dts, t.clip.timescale,
                                        tracks[best].clip.pieces[nxt[best]][2][0].dts, tracks[best].clip.timescale):
                best = i
        if best is None:
            return position, [view[start:end].toreadonly() for view, start, end in media]
        data, input_offset, samples = tracks[best].clip.pieces[nxt[best]]
        nxt[best] += 1
        tracks[best].chunk_positions.append(position)
        view = _view(data)
        for s in samples:
            at = s.offset - input_offset
            if media and last is data and media[-1][2] == at:
                media[-1] = (media[-1][0], media[-1][1], at + s.size)
            elif s.size:
                media.append((view, at, at + s.size))
                last = data
            position += s.size


def _plan_edits(tracks: list[_TrackLayout]) -> None:
    first = None
    for t in tracks:
        if not t.empty and (first is None or _earlier(t.first_pts, t.clip.timescale, first.first_pts,
                                                      first.clip.timescale)):
            first = t
    for t in tracks:
        if t.empty:
            continue
        ts, ts0 = t.clip.timescale, first.clip.timescale
        delay = t.first_pts * ts0 - first.first_pts * ts  # (first_pts / ts - t0) * ts * ts0
        den = ts * ts0
        empty = (2 * delay * MOVIE_TIMESCALE + den) // (2 * den)  # nearest, halves up
        if empty > 0:
            t.edits.append((empty, EMPTY_EDIT))
        t.edits.append((-(-t.media_duration * MOVIE_TIMESCALE // ts), t.media_time))  # rounded up
        t.duration = sum(d for d, _ in t.edits)


def _clip_brands(tracks: list[_TrackLayout]) -> tuple[bytes, int, list[bytes]]:
    # FileTypeBox brands, ISO/IEC 14496-12 §4.3: FFmpeg's for a progressive mp4, avc1 with H.264.
    compatible = [b"isom", b"iso2"] + ([b"avc1"] if any(t.codec.kind == AVC for t in tracks) else []) + [b"mp41"]
    return b"isom", 512, compatible


def write_stbl(w: Writer, t: _TrackLayout, base: int) -> None:
    # SampleTableBox, ISO/IEC 14496-12 §8.5.1; `base` is the file offset of the mdat payload.
    with w.box(b"stbl"):
        write_stsd(w, t.codec)
        write_stts(w, t.durations)
        if any(t.cts_offsets):
            write_ctts(w, t.cts_offsets)
        if t.codec.video and not t.all_sync:  # no stss: every sample is a sync sample
            write_stss(w, t.sync_numbers)
        write_stsc(w, t.chunk_samples)
        write_stsz(w, t.sizes)
        write_chunk_offsets(w, [base + p for p in t.chunk_positions])


def write_minf(w: Writer, t: _TrackLayout, base: int) -> None:
    # MediaInformationBox, ISO/IEC 14496-12 §8.4.4.
    with w.box(b"minf"):
        write_media_header(w, t.clip.track)
        write_dinf(w)
        write_stbl(w, t, base)


def write_mdia(w: Writer, t: _TrackLayout, base: int) -> None:
    # MediaBox, ISO/IEC 14496-12 §8.4.1.
    with w.box(b"mdia"):
        write_mdhd(w, t.clip.timescale, t.media_duration, t.clip.track.language)
        write_hdlr(w, t.clip.track)
        write_minf(w, t, base)


def write_trak(w: Writer, t: _TrackLayout, base: int) -> None:
    # TrackBox, ISO/IEC 14496-12 §8.3.1; a track without samples has no edit list.
    with w.box(b"trak"):
        write_tkhd(w, t.clip.track, t.clip.track_id, t.duration)
        if t.edits:
            write_edts(w, t.edits)
        write_mdia(w, t, base)


def write_moov(w: Writer, tracks: list[_TrackLayout], base: int) -> None:
    # MovieBox, ISO/IEC 14496-12 §8.2.1, of a non-fragmented movie.
    with w.box(b"moov"):
        max_id = max(t.clip.track_id for t in tracks)
        write_mvhd(w, MOVIE_TIMESCALE, max(t.duration for t in tracks), max_id if max_id == U32_MAX else max_id + 1)
        for t in tracks:
            write_trak(w, t, base)


def write_clip(tracks: list[ClipTrack]) -> list:
    """ftyp + moov + mdat: a list of pieces, bytes for what was generated and read-only
    memoryviews of the inputs for the media."""
    if not tracks:
        raise InvalidValueError("an MP4 clip needs at least one track", offset=0)
    codecs = []
    for t in tracks:
        codecs.append(checked_codec_config(t.track, t.timescale))
    layouts = [_layout_samples(t, c) for t, c in zip(tracks, codecs)]
    payload_size, media = _place_chunks(layouts)
    _plan_edits(layouts)

    w = Writer()
    write_ftyp(w, _clip_brands(layouts))
    mdat_header_size = write_mdat_header(Writer(), payload_size)  # a dry run, for its size
    # Chunk offsets depend on the moov's size and the moov's size on co64: write it until its
    # size stops changing (it never shrinks, so this ends).
    moov_size = 0
    while True:
        moov = Writer()
        write_moov(moov, layouts, len(w) + moov_size + mdat_header_size)
        if len(moov) == moov_size:
            break
        moov_size = len(moov)
    w.bytes(moov.buf)
    write_mdat_header(w, payload_size)
    return [bytes(w.buf)] + media
