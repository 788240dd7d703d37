# SPDX-License-Identifier: Apache-2.0
"""fMP4/CMAF segments in pure Python: the mirror of ``cpp/src/mp4/{fmp4,fragment}.cc`` (the
headers and sample entries are in :mod:`kvsmux.media.pure.mp4_boxes`), byte for byte, error
for error.

Choices (the same as the C++ core):

* Init segment: ftyp (major iso6; compatible iso6, mp41, dash, plus cmfc when there is one
  track), moov (mvhd timescale 1000, durations 0, empty sample tables, mvex with a trex per
  track whose defaults are 0). No btrt and esds bitrates 0: the bitrate is not known yet.
* Media segment: styp (msdh; msdh, iso6), moof (mfhd, a traf per track: tfhd with
  default-base-is-moof, tfdt version 1, one trun), mdat (64-bit largesize only past 4 GiB).
  A value the same for every sample is a tfhd default; flags differing only on the first
  sample are first_sample_flags; trun is version 1 when a composition offset is negative.
"""
from __future__ import annotations

from kvsmux.errors import InvalidValueError, LimitExceededError, MediaError, TruncatedInputError
from kvsmux.media.pure.mp4_boxes import fmp4_brands, segment_brands, write_ftyp, write_moov
from kvsmux.media.pure.mp4_sample_entry import checked_codec_config, codec_config
from kvsmux.media.pure.mp4_writer import U32_MAX, Writer

SYNC_SAMPLE_FLAGS = 0x02000000      # ISO/IEC 14496-12 §8.8.3.1: sample_depends_on 2
NON_SYNC_SAMPLE_FLAGS = 0x01010000  # sample_depends_on 1, sample_is_non_sync_sample
_I32_MAX = (1 << 31) - 1

# tf_flags (§8.8.7.1) and tr_flags (§8.8.8.1).
TFHD_DEFAULT_SAMPLE_DURATION, TFHD_DEFAULT_SAMPLE_SIZE, TFHD_DEFAULT_SAMPLE_FLAGS = 0x08, 0x10, 0x20
TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
TRUN_DATA_OFFSET, TRUN_FIRST_SAMPLE_FLAGS = 0x001, 0x004
TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTS = 0x100, 0x200, 0x400, 0x800


def sample_flags(s) -> int:
    return SYNC_SAMPLE_FLAGS if s.sync else NON_SYNC_SAMPLE_FLAGS


class TrunLayout:
    """What tfhd and trun carry, derived from the samples (mp4/boxes.h TrunLayout)."""

    def __init__(self, samples: list) -> None:
        self.default_duration = self.default_size = self.default_flags = self.first_sample_flags = None
        self.per_sample_duration = self.per_sample_size = self.per_sample_flags = False
        self.per_sample_cts = any(s.cts_offset != 0 for s in samples)
        self.negative_cts = any(s.cts_offset < 0 for s in samples)
        if not samples:
            return
        if len({s.duration for s in samples}) == 1:
            self.default_duration = samples[0].duration
        else:
            self.per_sample_duration = True
        if len({s.size for s in samples}) == 1:
            self.default_size = samples[0].size
        else:
            self.per_sample_size = True
        flags = [sample_flags(s) for s in samples]
        if len(set(flags)) == 1:
            self.default_flags = flags[0]
        elif len(set(flags[1:])) == 1:  # a sync sample, then the rest of its GOP
            self.first_sample_flags, self.default_flags = flags[0], flags[1]
        else:
            self.per_sample_flags = True

    def tfhd_flags(self) -> int:
        return (TFHD_DEFAULT_BASE_IS_MOOF | (TFHD_DEFAULT_SAMPLE_DURATION if self.default_duration is not None else 0)
                | (TFHD_DEFAULT_SAMPLE_SIZE if self.default_size is not None else 0)
                | (TFHD_DEFAULT_SAMPLE_FLAGS if self.default_flags is not None else 0))

    def trun_flags(self) -> int:
        return (TRUN_DATA_OFFSET | (TRUN_FIRST_SAMPLE_FLAGS if self.first_sample_flags is not None else 0)
                | (TRUN_SAMPLE_DURATION if self.per_sample_duration else 0)
                | (TRUN_SAMPLE_SIZE if self.per_sample_size else 0)
                | (TRUN_SAMPLE_FLAGS if self.per_sample_flags else 0)
                | (TRUN_SAMPLE_CTS if self.per_sample_cts else 0))


# --- fragment.cc --------------------------------------------------------------------------

def write_tfhd(w: Writer, track_id: int, layout: TrunLayout) -> None:
    # TrackFragmentHeaderBox (ISO/IEC 14496-12 §8.8.7), default-base-is-moof.
    with w.box(b"tfhd", 0, layout.tfhd_flags()):
        w.u32(track_id)
        for value in (layout.default_duration, layout.default_size, layout.default_flags):
            if value is not None:
                w.u32(value)


def write_tfdt(w: Writer, base_decode_time: int) -> None:
    # TrackFragmentBaseMediaDecodeTimeBox (ISO/IEC 14496-12 §8.8.12), version 1.
    with w.box(b"tfdt", 1, 0):
        w.u64(base_decode_time)


def write_trun(w: Writer, samples: list, layout: TrunLayout) -> int:
    # TrackRunBox (ISO/IEC 14496-12 §8.8.8); returns where data_offset goes.
    with w.box(b"trun", 1 if layout.negative_cts else 0, layout.trun_flags()):
        w.u32(len(samples))
        data_offset = w.reserve(4)
        if layout.first_sample_flags is not None:
            w.u32(layout.first_sample_flags)
        for s in samples:
            if layout.per_sample_duration:
                w.u32(s.duration)
            if layout.per_sample_size:
                w.u32(s.size)
            if layout.per_sample_flags:
                w.u32(sample_flags(s))
            if layout.per_sample_cts:
                w.i32(s.cts_offset)
    return data_offset


def write_traf(w: Writer, track_id: int, base_decode_time: int, samples: list) -> int:
    # TrackFragmentBox (ISO/IEC 14496-12 §8.8.6): tfhd, tfdt, one trun.
    with w.box(b"traf"):
        layout = TrunLayout(samples)
        write_tfhd(w, track_id, layout)
        write_tfdt(w, base_decode_time)
        return write_trun(w, samples, layout)


def write_moof(w: Writer, sequence_number: int, runs: list) -> list[int]:
    # MovieFragmentBox (ISO/IEC 14496-12 §8.8.4) > mfhd (§8.8.5), a traf per run.
    with w.box(b"moof"):
        with w.box(b"mfhd", 0, 0):
            w.u32(sequence_number)
        return [write_traf(w, track_id, base, samples) for track_id, base, samples in runs]


def write_mdat_header(w: Writer, payload_size: int) -> int:
    # MediaDataBox header (ISO/IEC 14496-12 §8.1.1, §4.2): largesize when 32 bits are not enough.
    if payload_size + 8 <= U32_MAX:
        w.u32(payload_size + 8)
        w.fourcc(b"mdat")
        return 8
    w.u32(1)
    w.fourcc(b"mdat")
    w.u64(payload_size + 16)
    return 16


# --- fmp4.cc ------------------------------------------------------------------------------

def write_init_segment(tracks: list) -> bytes:
    """ftyp + moov for ``[(track, track_id, timescale)]`` (kvsmux.media.model.Track)."""
    if not tracks:
        raise InvalidValueError("an init segment needs at least one track", offset=0)
    init = []
    for track, track_id, timescale in tracks:
        init.append((track, track_id, timescale, checked_codec_config(track, timescale)))
    w = Writer()
    write_ftyp(w, fmp4_brands(len(init)))
    write_moov(w, init)
    return bytes(w.buf)


def write_media_segment(sequence_number: int, runs: list, input, input_offset: int) -> list:
    """styp + moof + mdat for ``[(track_id, base_decode_time, [Sample])]``: a list of pieces,
    bytes for what was generated and read-only memoryviews of ``input`` for the media."""
    view = memoryview(input).cast("B") if not isinstance(input, memoryview) else input.cast("B")
    payload_size = 0
    for _, _, samples in runs:
        for s in samples:
            at = s.offset - input_offset
            if s.offset < input_offset or at > len(view) or s.size > len(view) - at:
                raise TruncatedInputError(f"sample of {s.size} bytes is outside the input", offset=s.offset)
            payload_size += s.size
    w = Writer()
    write_ftyp(w, segment_brands(), kind=b"styp")
    moof_start = len(w)
    slots = write_moof(w, sequence_number, runs)
    write_mdat_header(w, payload_size)
    # default-base-is-moof: the distance from the moof's first byte to the track's first sample.
    data_offset = len(w) - moof_start
    for slot, (_, _, samples) in zip(slots, runs):
        if data_offset > _I32_MAX:
            raise LimitExceededError(f"trun data_offset {data_offset} does not fit 32 bits",
                                     offset=samples[0].offset if samples else 0)
        w.patch(slot, data_offset)
        data_offset += sum(s.size for s in samples)
    pieces: list = [bytes(w.buf)]
    start = end = 0  # one view per run of adjacent samples (a lace is adjacent)
    for _, _, samples in runs:
        for s in samples:
            at = s.offset - input_offset
            if at != end or start == end:
                if start != end:
                    pieces.append(view[start:end].toreadonly())
                start = at
            end = at + s.size
    if start != end:
        pieces.append(view[start:end].toreadonly())
    return pieces


def codec_string(track) -> str:
    """RFC 6381 codec string ("avc1.64001f", "hvc1.1.6.L93.B0", "mp4a.40.2", "alaw", "ulaw"); ""
    when the codec is not supported or its codec private is missing or malformed."""
    try:
        return codec_config(track).codec_string
    except MediaError:
        return ""
