# SPDX-License-Identifier: Apache-2.0
"""The EBML header, Segment Info and Tracks (RFC 8794 §11.2; RFC 9559 §5.1.2, §5.1.4), and
what each track's codec private says.

The mirror of ``cpp/src/mkv/headers.cc`` and ``cpp/src/mkv/codec_summary.cc`` (declared in
``cpp/include/kvsmux/mkv/headers.h``): same fields, same checks in the same order, same
error class, detail, offset and path.
"""
from __future__ import annotations

from kvsmux.errors import (
    InvalidValueError,
    LimitExceededError,
    MediaError,
    MissingCodecPrivateError,
    MissingElementError,
    UnsupportedDocumentError,
)
from kvsmux.media.pure import codec
from kvsmux.media.pure.ebml import (
    ID,
    MAX_ID_LENGTH,
    MAX_SIZE_LENGTH,
    ElementHeader,
    Reader,
    for_each_child,
    read_float,
    read_uint,
    with_path,
)
from kvsmux.media.pure.types import Header, Track, text


# --- EBML header, Info, Tracks (cpp/src/mkv/headers.cc) -------------------------------

def _string(data: Reader) -> bytes:
    # RFC 8794 §7.4: strings may be padded with trailing zero bytes.
    return data.rest().rstrip(b"\0")


def parse_ebml_header(data: Reader, out: Header) -> None:
    """RFC 8794 §11.2.1-§11.2.7. DocType defaults to "matroska", DocTypeReadVersion to 1."""
    at = data.offset()
    versions = {"read": 1, "max_id_length": 4, "max_size_length": 8}
    out.doc_type = b"matroska"
    out.doc_type_version = 1
    out.doc_type_read_version = 1

    def child(h: ElementHeader, v: Reader) -> None:
        if h.id == ID["EBMLReadVersion"]:
            versions["read"] = read_uint(v)
        elif h.id == ID["EBMLMaxIDLength"]:
            versions["max_id_length"] = read_uint(v)
        elif h.id == ID["EBMLMaxSizeLength"]:
            versions["max_size_length"] = read_uint(v)
        elif h.id == ID["DocType"]:
            out.doc_type = _string(v)
        elif h.id == ID["DocTypeVersion"]:
            out.doc_type_version = read_uint(v)
        elif h.id == ID["DocTypeReadVersion"]:
            out.doc_type_read_version = read_uint(v)

    for_each_child(data, child)
    if versions["read"] != 1:
        raise UnsupportedDocumentError(f"EBMLReadVersion {versions['read']}", offset=at)
    if out.doc_type not in (b"matroska", b"webm"):
        raise UnsupportedDocumentError(f"DocType '{text(out.doc_type)}'", offset=at)
    max_size_length = versions["max_size_length"]
    if versions["max_id_length"] > MAX_ID_LENGTH or max_size_length > MAX_SIZE_LENGTH or max_size_length == 0:
        raise UnsupportedDocumentError("EBMLMaxIDLength/EBMLMaxSizeLength out of range", offset=at)
    if out.doc_type_read_version > 4:
        raise UnsupportedDocumentError(f"DocTypeReadVersion {out.doc_type_read_version}", offset=at)


def parse_info(data: Reader, out: Header) -> None:
    """RFC 9559 §5.1.2 Info: TimestampScale, Duration, MuxingApp, WritingApp, Title."""
    def child(h: ElementHeader, v: Reader) -> None:
        if h.id == ID["TimestampScale"]:
            out.timestamp_scale_ns = read_uint(v)
            if out.timestamp_scale_ns == 0:
                raise InvalidValueError("TimestampScale 0", offset=h.data_offset(), path="TimestampScale")
        elif h.id == ID["Duration"]:
            out.duration = read_float(v)
        elif h.id == ID["MuxingApp"]:
            out.muxing_app = _string(v)
        elif h.id == ID["WritingApp"]:
            out.writing_app = _string(v)
        elif h.id == ID["Title"]:
            out.title = _string(v)

    for_each_child(data, child)


def _parse_video(data: Reader, t: Track) -> None:
    def child(h: ElementHeader, v: Reader) -> None:
        if h.id == ID["PixelWidth"]:
            t.pixel_width = read_uint(v)
        elif h.id == ID["PixelHeight"]:
            t.pixel_height = read_uint(v)

    for_each_child(data, child)


def _parse_audio(data: Reader, t: Track) -> None:
    def child(h: ElementHeader, v: Reader) -> None:
        if h.id == ID["SamplingFrequency"]:
            t.sampling_frequency = read_float(v)
        elif h.id == ID["Channels"]:
            t.channels = read_uint(v)
        elif h.id == ID["BitDepth"]:
            t.bit_depth = read_uint(v)

    for_each_child(data, child)


def _parse_track_entry(data: Reader, t: Track) -> None:
    """RFC 9559 §5.1.4.1 TrackEntry. Audio SamplingFrequency defaults to 8000 Hz, Channels to 1."""
    entry_offset = data.offset()

    def child(h: ElementHeader, v: Reader) -> None:
        at = h.data_offset()
        if h.id == ID["TrackNumber"]:
            t.number = read_uint(v)
        elif h.id == ID["TrackUID"]:
            t.uid = read_uint(v)
        elif h.id == ID["TrackType"]:
            track_type = read_uint(v)
            if track_type == 0 or track_type > 254:
                raise InvalidValueError("TrackType out of range", offset=at, path="TrackType")
            t.type = track_type
        elif h.id == ID["CodecID"]:
            t.codec_id = _string(v)
        elif h.id == ID["CodecPrivate"]:
            t.codec_private_range = (at, h.size)
            t.codec_private = v.rest()
        elif h.id == ID["DefaultDuration"]:
            t.default_duration_ns = read_uint(v)
        elif h.id == ID["CodecDelay"]:
            t.codec_delay_ns = read_uint(v)
        elif h.id == ID["SeekPreRoll"]:
            t.seek_pre_roll_ns = read_uint(v)
        elif h.id == ID["Name"]:
            t.name = _string(v)
        elif h.id == ID["Language"]:
            t.language = _string(v)
        elif h.id == ID["Video"]:
            try:
                _parse_video(v, t)
            except MediaError as e:
                raise with_path(e, "Video") from None
        elif h.id == ID["Audio"]:
            t.sampling_frequency = 8000.0
            t.channels = 1
            try:
                _parse_audio(v, t)
            except MediaError as e:
                raise with_path(e, "Audio") from None

    for_each_child(data, child)
    if t.number == 0:
        raise MissingElementError("TrackEntry without a TrackNumber", offset=entry_offset)


def parse_tracks(data: Reader, limits: dict, out: Header) -> None:
    """RFC 9559 §5.1.4 Tracks: every TrackEntry, with its codec private summarised. Track
    numbers are unique within a Segment."""
    out.tracks = []

    def child(h: ElementHeader, v: Reader) -> None:
        if h.id != ID["TrackEntry"]:
            return
        where = f"TrackEntry[{len(out.tracks)}]"
        if len(out.tracks) >= limits["max_tracks"]:
            raise LimitExceededError(f"more than {limits['max_tracks']} tracks", offset=h.offset, path=where)
        t = Track()
        try:
            _parse_track_entry(v, t)
        except MediaError as e:
            raise with_path(e, where) from None
        if out.find_track(t.number):
            raise InvalidValueError(f"duplicate TrackNumber {t.number}", offset=h.offset, path=where)
        summarise_codec(t)
        out.tracks.append(t)

    for_each_child(data, child)


# --- What a track's codec private says (cpp/src/mkv/codec_summary.cc) ------------------

def summarise_codec(t: Track) -> None:
    """Fills ``t.codec`` from the codec private (as the binding's codec dict), or sets
    ``t.codec_error``. RFC 9559 codec mappings: V_MPEG4/ISO/AVC (avcC), V_MPEGH/ISO/HEVC
    (hvcC), A_AAC* (AudioSpecificConfig); other codecs are left alone."""
    avc = t.codec_id == b"V_MPEG4/ISO/AVC"
    hevc = t.codec_id == b"V_MPEGH/ISO/HEVC"
    aac = t.codec_id.startswith(b"A_AAC")
    if not (avc or hevc or aac):
        return
    cp, at = t.codec_private, t.codec_private_range[0]
    if not cp:
        t.codec_error = MissingCodecPrivateError(f"no CodecPrivate for {text(t.codec_id)}", offset=at, path="")
        return
    try:
        if avc:
            c = codec.parse_avc_decoder_configuration(cp, at)
            t.codec = _summary(codec.avc_codec_string(c), c["profile_idc"], c["level_idc"], c["width"], c["height"],
                               0, 0, c["nal_length_size"])
        elif hevc:
            c = codec.parse_hevc_decoder_configuration(cp, at)
            t.codec = _summary(codec.hevc_codec_string(c), c["general_profile_idc"], c["general_level_idc"],
                               c["width"], c["height"], 0, 0, c["nal_length_size"])
        else:
            c = codec.parse_audio_specific_config(cp, at)
            t.codec = _summary(codec.aac_codec_string(c), c["audio_object_type"], 0, 0, 0, c["sample_rate"],
                               c["channels"], 0)
    except MediaError as e:
        t.codec_error = e


def _summary(codec_string: str, profile: int, level: int, width: int, height: int, sample_rate: int,
             channels: int, nal_length_size: int) -> dict:
    """``mkv::CodecSummary`` as ``codec_summary`` in src/convert.cpp makes it a dict."""
    return {"codec_string": codec_string, "profile": profile, "level": level, "width": width, "height": height,
            "sample_rate": sample_rate, "channels": channels, "nal_length_size": nal_length_size}
