# SPDX-License-Identifier: Apache-2.0
"""File, movie and track headers in pure Python: the mirror of ``cpp/src/mp4/init.cc``
(ISO/IEC 14496-12 §4.3, §8.2-§8.8.3), byte for byte. Each ``write_<4cc>`` function has the
C++ function's name and field order, and its first comment line cites the same clause."""
from __future__ import annotations

from kvsmux.errors import MediaError
# The sample entry and writer names are re-exported: the MP4 clip writer (clip.py) imports
# the shared box writers from here, as clip.cc includes mp4/boxes.h.
from kvsmux.media.pure.mp4_sample_entry import AVC, CodecConfig, codec_config, write_stsd  # noqa: F401
from kvsmux.media.pure.mp4_writer import U32_MAX, Writer

VIDEO = 1

FMP4_MOVIE_TIMESCALE = 1000
_UNITY_MATRIX = (0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def fmp4_brands(track_count: int) -> tuple[bytes, int, list[bytes]]:
    """(major, minor, compatible) of an fMP4 init segment; cmfc only for one track."""
    if track_count == 1:
        return b"iso6", 0, [b"iso6", b"cmfc", b"mp41", b"dash"]
    return b"iso6", 0, [b"iso6", b"mp41", b"dash"]


def segment_brands() -> tuple[bytes, int, list[bytes]]:
    return b"msdh", 0, [b"msdh", b"iso6"]


def _is_video(track) -> bool:
    return track.type == VIDEO


def _unity_matrix(w: Writer) -> None:
    for v in _UNITY_MATRIX:
        w.u32(v)


def _times(w: Writer, duration: int, middle) -> None:
    # creation_time, modification_time (0), then `middle`, then the duration; 64-bit in version 1.
    wide = duration > U32_MAX
    w.zeros(16 if wide else 8)
    middle()
    w.uint(duration, 8 if wide else 4)


def packed_language(language: str) -> int:
    # ISO/IEC 14496-12 §8.4.2.3: (letter - 0x60) in 5 bits each; Matroska's default is "eng".
    code = language or "eng"
    if not (len(code) == 3 and all("a" <= ch <= "z" for ch in code)):
        code = "und"
    packed = 0
    for ch in code:
        packed = packed * 32 + (ord(ch) - 0x60)
    return packed


def write_ftyp(w: Writer, brands: tuple[bytes, int, list[bytes]], kind: bytes = b"ftyp") -> None:
    # FileTypeBox (ISO/IEC 14496-12 §4.3); SegmentTypeBox (§8.16.2) has the same fields.
    major, minor, compatible = brands
    with w.box(kind):
        w.fourcc(major)
        w.u32(minor)
        for b in compatible:
            w.fourcc(b)


def write_mvhd(w: Writer, timescale: int, duration: int, next_track_id: int) -> None:
    # MovieHeaderBox (ISO/IEC 14496-12 §8.2.2).
    with w.box(b"mvhd", 1 if duration > U32_MAX else 0, 0):
        _times(w, duration, lambda: w.u32(timescale))
        w.u32(0x00010000)  # rate
        w.u16(0x0100)      # volume
        w.zeros(10)
        _unity_matrix(w)
        w.zeros(24)
        w.u32(next_track_id)


def write_tkhd(w: Writer, track, track_id: int, duration: int) -> None:
    # TrackHeaderBox (ISO/IEC 14496-12 §8.3.2), enabled and in the movie.
    video = _is_video(track)
    width = height = 0
    if video:
        try:
            c = codec_config(track)
            width, height = c.width, c.height
        except MediaError:
            pass
    with w.box(b"tkhd", 1 if duration > U32_MAX else 0, 0x000003):
        _times(w, duration, lambda: (w.u32(track_id), w.u32(0)))
        w.zeros(8)
        w.u16(0)  # layer
        w.u16(0)  # alternate_group
        w.u16(0 if video else 0x0100)
        w.u16(0)
        _unity_matrix(w)
        w.u32(width << 16)
        w.u32(height << 16)


def write_mdhd(w: Writer, timescale: int, duration: int, language: str) -> None:
    # MediaHeaderBox (ISO/IEC 14496-12 §8.4.2).
    with w.box(b"mdhd", 1 if duration > U32_MAX else 0, 0):
        _times(w, duration, lambda: w.u32(timescale))
        w.u16(packed_language(language))
        w.u16(0)


def write_hdlr(w: Writer, track) -> None:
    # HandlerBox (ISO/IEC 14496-12 §8.4.3).
    video = _is_video(track)
    with w.box(b"hdlr", 0, 0):
        w.u32(0)
        w.fourcc(b"vide" if video else b"soun")
        w.zeros(12)
        w.bytes(b"VideoHandler\0" if video else b"SoundHandler\0")


def write_media_header(w: Writer, track) -> None:
    # ISO/IEC 14496-12 §8.4.5: vmhd (§12.1.2, flags 1) or smhd (§12.2.2).
    if _is_video(track):
        with w.box(b"vmhd", 0, 1):
            w.u16(0)
            w.zeros(6)
    else:
        with w.box(b"smhd", 0, 0):
            w.u16(0)
            w.u16(0)


def write_dinf(w: Writer) -> None:
    # DataInformationBox (ISO/IEC 14496-12 §8.7.1) > dref > one self-contained 'url '.
    with w.box(b"dinf"), w.box(b"dref", 0, 0):
        w.u32(1)
        with w.box(b"url ", 0, 1):
            pass


def _write_empty_stbl(w: Writer, c: CodecConfig) -> None:
    # SampleTableBox (ISO/IEC 14496-12 §8.5.1) of a fragmented track: empty tables.
    with w.box(b"stbl"):
        write_stsd(w, c)
        for kind in (b"stts", b"stsc"):
            with w.box(kind, 0, 0):
                w.u32(0)  # entry_count
        with w.box(b"stsz", 0, 0):
            w.u32(0)  # sample_size
            w.u32(0)  # sample_count
        with w.box(b"stco", 0, 0):
            w.u32(0)


def write_trak(w: Writer, track, track_id: int, timescale: int, c: CodecConfig) -> None:
    # TrackBox (ISO/IEC 14496-12 §8.3.1) > tkhd, mdia > mdhd, hdlr, minf.
    with w.box(b"trak"):
        write_tkhd(w, track, track_id, 0)
        with w.box(b"mdia"):
            write_mdhd(w, timescale, 0, track.language)
            write_hdlr(w, track)
            with w.box(b"minf"):
                write_media_header(w, track)
                write_dinf(w)
                _write_empty_stbl(w, c)


def write_moov(w: Writer, tracks: list) -> None:
    # MovieBox (ISO/IEC 14496-12 §8.2.1) of a fragmented movie; tracks are (track, id, timescale, codec).
    with w.box(b"moov"):
        max_id = max(t[1] for t in tracks)
        write_mvhd(w, FMP4_MOVIE_TIMESCALE, 0, max_id if max_id == U32_MAX else max_id + 1)
        for track, track_id, timescale, c in tracks:
            write_trak(w, track, track_id, timescale, c)
        with w.box(b"mvex"):  # MovieExtendsBox (§8.8.1), one TrackExtendsBox (§8.8.3) per track
            for _, track_id, _, _ in tracks:
                with w.box(b"trex", 0, 0):
                    w.u32(track_id)
                    w.u32(1)
                    w.u32(0)
                    w.u32(0)
                    w.u32(0)
