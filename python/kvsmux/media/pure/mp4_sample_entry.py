# SPDX-License-Identifier: Apache-2.0
"""Sample entries in pure Python: the mirror of ``cpp/src/mp4/sample_entry.cc`` (ISO/IEC
14496-12 §8.5.2, ISO/IEC 14496-15 for AVC/HEVC, ISO/IEC 14496-14 and 14496-1 for AAC,
§12.2.3 for G.711), byte for byte, error for error."""
from __future__ import annotations

from dataclasses import dataclass

from kvsmux.errors import InvalidCodecPrivateError, InvalidValueError, MissingCodecPrivateError, UnsupportedCodecError
from kvsmux.media.pure import codec as codecs
from kvsmux.media.pure.mp4_writer import Writer

AVC, HEVC, AAC, ALAW, ULAW = "avc", "hevc", "aac", "alaw", "ulaw"
_WAVE_FORMAT_ALAW, _WAVE_FORMAT_MULAW = 0x0006, 0x0007
_WAVE_FORMAT_SIZE = 14


@dataclass
class CodecConfig:
    """What the sample entry of a track needs (mp4/boxes.h CodecConfig)."""

    kind: str
    config: bytes = b""
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0
    codec_string: str = ""

    @property
    def video(self) -> bool:
        return self.kind in (AVC, HEVC)


def _g711_config(track) -> CodecConfig:
    # Microsoft WAVEFORMATEX (mmreg.h), the CodecPrivate of A_MS/ACM (Matroska codec mappings).
    cp, at = bytes(track.codec_private), track.codec_private_range[0]
    if len(cp) < _WAVE_FORMAT_SIZE:
        raise InvalidCodecPrivateError(f"WAVEFORMATEX is {len(cp)} bytes, shorter than 14", offset=at)
    tag = int.from_bytes(cp[0:2], "little")
    if tag not in (_WAVE_FORMAT_ALAW, _WAVE_FORMAT_MULAW):
        raise UnsupportedCodecError(f"unsupported codec A_MS/ACM with format tag 0x{tag:04x}", offset=at)
    kind = ALAW if tag == _WAVE_FORMAT_ALAW else ULAW
    c = CodecConfig(kind, codec_string=kind, channels=int.from_bytes(cp[2:4], "little"),
                    sample_rate=int.from_bytes(cp[4:8], "little"))
    if c.channels == 0:
        raise InvalidCodecPrivateError("WAVEFORMATEX nChannels is 0", offset=at + 2)
    if c.sample_rate == 0:
        raise InvalidCodecPrivateError("WAVEFORMATEX nSamplesPerSec is 0", offset=at + 4)
    return c


def codec_config(track) -> CodecConfig:
    """The sample entry of V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC, A_AAC* and A_MS/ACM G.711 tracks;
    MissingCodecPrivateError, the parser's InvalidCodecPrivateError or UnsupportedCodecError."""
    # Matroska codec mappings (RFC 9559 §5.1.4.1.21, the codec specs): which ids become which entry.
    codec_id = track.codec_id
    at = track.codec_private_range[0]
    avc, hevc = codec_id == "V_MPEG4/ISO/AVC", codec_id == "V_MPEGH/ISO/HEVC"
    aac, acm = codec_id.startswith("A_AAC"), codec_id == "A_MS/ACM"
    if not (avc or hevc or aac or acm):
        raise UnsupportedCodecError(f"unsupported codec {codec_id}", offset=at)
    cp = bytes(track.codec_private)
    if not cp:
        raise MissingCodecPrivateError(f"no CodecPrivate for {codec_id}", offset=at)
    if acm:
        return _g711_config(track)
    if avc:
        c = codecs.parse_avc_decoder_configuration(cp, at)
        return CodecConfig(AVC, cp, width=c["width"], height=c["height"], codec_string=codecs.avc_codec_string(c))
    if hevc:
        c = codecs.parse_hevc_decoder_configuration(cp, at)
        return CodecConfig(HEVC, cp, width=c["width"], height=c["height"], codec_string=codecs.hevc_codec_string(c))
    c = codecs.parse_audio_specific_config(cp, at)
    # Channel configuration 0 (a program_config_element) says nothing here: the track does.
    channels = c["channels"] or track.channels or 2
    return CodecConfig(AAC, cp, sample_rate=c["sample_rate"], channels=channels if channels <= 0xFFFF else 2,
                       codec_string=codecs.aac_codec_string(c))


def _sample_entry_fields(w: Writer) -> None:
    # SampleEntry (ISO/IEC 14496-12 §8.5.2.2).
    w.zeros(6)  # reserved
    w.u16(1)    # data_reference_index


def _visual_sample_entry_fields(w: Writer, c: CodecConfig) -> None:
    # VisualSampleEntry (ISO/IEC 14496-12 §12.1.3.2), after the box header.
    _sample_entry_fields(w)
    w.u16(0)
    w.u16(0)
    w.zeros(12)
    w.u16(c.width)
    w.u16(c.height)
    w.u32(0x00480000)  # 72 dpi
    w.u32(0x00480000)
    w.u32(0)
    w.u16(1)           # frame_count
    w.zeros(32)        # compressorname
    w.u16(0x0018)      # depth
    w.i16(-1)


def _audio_sample_entry_fields(w: Writer, c: CodecConfig) -> None:
    # AudioSampleEntry (ISO/IEC 14496-12 §12.2.3.2), version 0, after the box header.
    _sample_entry_fields(w)
    w.zeros(8)
    w.u16(c.channels)
    w.u16(16)  # samplesize: the template value
    w.u16(0)
    w.u16(0)
    w.u32(c.sample_rate << 16 if c.sample_rate <= 0xFFFF else 0)


def write_avcC(w: Writer, record: bytes) -> None:  # noqa: N802 (the box's name)
    # AVCConfigurationBox (ISO/IEC 14496-15 §5.4.2.1).
    with w.box(b"avcC"):
        w.bytes(record)


def write_hvcC(w: Writer, record: bytes) -> None:  # noqa: N802
    # HEVCConfigurationBox (ISO/IEC 14496-15 §8.4.1.1).
    with w.box(b"hvcC"):
        w.bytes(record)


def write_avc1(w: Writer, c: CodecConfig) -> None:
    # AVCSampleEntry 'avc1' (ISO/IEC 14496-15 §5.4.2.1), no btrt.
    with w.box(b"avc1"):
        _visual_sample_entry_fields(w, c)
        write_avcC(w, c.config)


def write_hvc1(w: Writer, c: CodecConfig) -> None:
    # HEVCSampleEntry 'hvc1' (ISO/IEC 14496-15 §8.4.1.1).
    with w.box(b"hvc1"):
        _visual_sample_entry_fields(w, c)
        write_hvcC(w, c.config)


def write_esds(w: Writer, audio_specific_config: bytes) -> None:
    # ESDBox (ISO/IEC 14496-14 §5.6.1): ES_Descriptor (ISO/IEC 14496-1 §7.2.6.5) etc.
    with w.box(b"esds", 0, 0):
        with w.descriptor(0x03):  # ES_DescrTag
            w.u16(0)  # ES_ID
            w.u8(0)   # flags
            with w.descriptor(0x04):  # DecoderConfigDescrTag
                w.u8(0x40)  # Audio ISO/IEC 14496-3
                w.u8((0x05 << 2) | 1)  # streamType audio, upStream 0, reserved 1
                w.u24(0)  # bufferSizeDB
                w.u32(0)  # maxBitrate
                w.u32(0)  # avgBitrate
                with w.descriptor(0x05):  # DecSpecificInfoTag
                    w.bytes(audio_specific_config)
            with w.descriptor(0x06):  # SLConfigDescrTag
                w.u8(2)  # predefined: MP4 files


def write_mp4a(w: Writer, c: CodecConfig) -> None:
    # MP4AudioSampleEntry 'mp4a' (ISO/IEC 14496-14 §5.6.1).
    with w.box(b"mp4a"):
        _audio_sample_entry_fields(w, c)
        write_esds(w, c.config)


def write_g711_entry(w: Writer, kind: bytes, c: CodecConfig) -> None:
    # AudioSampleEntry of G.711 (ISO/IEC 14496-12 §12.2.3): 'alaw' or 'ulaw', no child box.
    with w.box(kind):
        _audio_sample_entry_fields(w, c)


_ENTRY_WRITERS = {AVC: write_avc1, HEVC: write_hvc1, AAC: write_mp4a,
                  ALAW: lambda w, c: write_g711_entry(w, b"alaw", c),
                  ULAW: lambda w, c: write_g711_entry(w, b"ulaw", c)}


def write_stsd(w: Writer, c: CodecConfig) -> None:
    # SampleDescriptionBox (ISO/IEC 14496-12 §8.5.2): one entry.
    with w.box(b"stsd", 0, 0):
        w.u32(1)
        _ENTRY_WRITERS[c.kind](w, c)


def checked_codec_config(track, timescale: int) -> CodecConfig:
    """The checks every writer makes on a track it is given, then codec_config (sample_entry.cc)."""
    if track is None:
        raise InvalidValueError("track input without a track", offset=0)
    if timescale == 0:
        raise InvalidValueError(f"track {track.number} has timescale 0", offset=track.codec_private_range[0])
    return codec_config(track)
