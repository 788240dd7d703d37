# SPDX-License-Identifier: Apache-2.0
"""MPEG-2 transport stream segments (ISO/IEC 13818-1) in pure Python: the mirror of
``cpp/src/ts/{psi,pes,packetizer,annexb,segment}.cc``, byte for byte, error for error.

A segment is a PAT and a PMT, then one PES per sample in decode-time order (ties: track
order, then sample order), in 188-byte packets. Choices (the same as the C++ core):

* Time stamps: PTS = pts + 1.4 s and DTS = dts - dts_shift + 1.4 s (90 kHz, mod 2^33); the DTS
  is written only when it differs from the PTS, and never for audio. The PCR (on the first
  packet of every PES on the PCR PID: the first video track's, else the first track's) is the
  PES's DTS - 0.7 s. These are FFmpeg's mpegts defaults: PCR <= every later DTS.
* Video: Annex B with one access unit delimiter first (AUDs in the frame are dropped, as are
  empty NAL units), then for sync samples the codec private's parameter sets (H.264 SPS, PPS;
  H.265 VPS, SPS, PPS), then the frame's NAL units as they are, each after 00 00 00 01.
  stream_id 0xE0, PES_packet_length 0; random_access_indicator on sync samples.
* Audio: one AAC frame per PES, behind a 7-byte ADTS header; stream_id 0xC0.

Gaps: the same as the C++ core's (listed at the top of cpp/src/ts/segment.cc).
"""
from __future__ import annotations

from kvsmux.errors import InvalidFrameError, MissingCodecPrivateError, TruncatedInputError, UnsupportedCodecError
from kvsmux.media.pure import codec

PACKET_SIZE = 188
PAT_PID = 0x0000
PMT_PID = 0x1000
PROGRAM_NUMBER = 1
TRANSPORT_STREAM_ID = 1
STREAM_TYPE_AAC_ADTS = 0x0F
STREAM_TYPE_H264 = 0x1B
STREAM_TYPE_H265 = 0x24
STREAM_ID_VIDEO = 0xE0
STREAM_ID_AUDIO = 0xC0
TIMESTAMP_OFFSET_90K = 126_000  # 1.4 s
PCR_LEAD_90K = 63_000           # 0.7 s
ADTS_HEADER_SIZE = 7
MAX_ADTS_FRAME_LENGTH = (1 << 13) - 1

_START_CODE = b"\x00\x00\x00\x01"
_H264_AUD = _START_CODE + b"\x09\xf0"      # nal_unit_type 9, primary_pic_type 7
_H265_AUD = _START_CODE + b"\x46\x01\x50"  # nal_unit_type 35, temporal id 1, pic_type 2
_H264_NAL_AUD = 9
_H265_NAL_VPS, _H265_NAL_SPS, _H265_NAL_PPS, _H265_NAL_AUD = 32, 33, 34, 35


class Continuity:
    """The continuity counters of one session (the next one per PID, §2.4.3.3)."""

    def __init__(self) -> None:
        self.counter = [0] * 8192


# --- psi.cc -------------------------------------------------------------------------------

def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if c & 0x80000000 else (c << 1) & 0xFFFFFFFF
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32_mpeg2(data: bytes) -> int:
    """ISO/IEC 13818-1 Annex A: polynomial 0x04C11DB7, MSB first, init 0xFFFFFFFF, no final XOR."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ b) & 0xFF]
    return crc


def _long_section(table_id: int, table_id_extension: int, body: bytes) -> bytes:
    # §2.4.4.1: section_syntax_indicator 1, '0', '11', section_length (CRC included);
    # version 0, current_next 1, section_number 0, last_section_number 0.
    section_length = 5 + len(body) + 4
    head = bytes([table_id]) + (0xB000 | section_length).to_bytes(2, "big") + table_id_extension.to_bytes(2, "big")
    section = head + b"\xc1\x00\x00" + body
    return section + crc32_mpeg2(section).to_bytes(4, "big")


def pat_section(pmt_pid: int) -> bytes:
    """ISO/IEC 13818-1 §2.4.4.3 program_association_section."""
    return _long_section(0x00, TRANSPORT_STREAM_ID,
                         PROGRAM_NUMBER.to_bytes(2, "big") + (0xE000 | pmt_pid).to_bytes(2, "big"))


def pmt_section(pcr_pid: int, streams: list[tuple[int, int]]) -> bytes:
    """ISO/IEC 13818-1 §2.4.4.8 TS_program_map_section; streams are (stream_type, pid)."""
    body = bytearray((0xE000 | pcr_pid).to_bytes(2, "big") + b"\xf0\x00")
    for stream_type, pid in streams:
        body += bytes([stream_type]) + (0xE000 | pid).to_bytes(2, "big") + b"\xf0\x00"
    return _long_section(0x02, PROGRAM_NUMBER, bytes(body))


# --- pes.cc -------------------------------------------------------------------------------

def wrap_33(ticks_90k: int) -> int:
    return ticks_90k % (1 << 33)


def write_pts(fourbits: int, pts: int) -> bytes:
    """ISO/IEC 13818-1 §2.4.3.7, FFmpeg's write_pts()."""
    return (bytes([(fourbits << 4 | ((pts >> 30) & 0x07) << 1 | 1) & 0xFF])
            + ((((pts >> 15) & 0x7FFF) << 1) | 1).to_bytes(2, "big")
            + (((pts & 0x7FFF) << 1) | 1).to_bytes(2, "big"))


def pes_header_size(with_dts: bool) -> int:
    return 9 + 5 + (5 if with_dts else 0)


def pes_header(stream_id: int, pes_packet_length: int, pts: int, dts: int | None) -> bytes:
    """ISO/IEC 13818-1 §2.4.3.6 PES_packet() up to the end of PES_header_data."""
    with_dts = dts is not None and dts != pts
    head = b"\x00\x00\x01" + bytes([stream_id]) + pes_packet_length.to_bytes(2, "big")
    head += bytes([0x84, 0xC0 if with_dts else 0x80, pes_header_size(with_dts) - 9])
    head += write_pts(0x3 if with_dts else 0x2, pts)
    if with_dts:
        head += write_pts(0x1, dts)
    return head


# --- packetizer.cc ------------------------------------------------------------------------

def write_pcr(pcr_27mhz: int) -> bytes:
    """ISO/IEC 13818-1 §2.4.3.5, FFmpeg's write_pcr_bits()."""
    low, high = pcr_27mhz % 300, pcr_27mhz // 300
    return ((high >> 1) & 0xFFFFFFFF).to_bytes(4, "big") + bytes([(high << 7 | low >> 8 | 0x7E) & 0xFF, low & 0xFF])


def _header(pid: int, unit_start: bool, adaptation_field: bool, cc: int) -> bytes:
    # §2.4.3.2: sync_byte, PUSI, PID, adaptation_field_control ('01' or '11'), continuity_counter.
    return bytes([0x47, (0x40 if unit_start else 0) | (pid >> 8 & 0x1F), pid & 0xFF,
                  (0x30 if adaptation_field else 0x10) | (cc & 0x0F)])


def write_pes_packets(out: bytearray, payload: bytes, pid: int, pcr_27mhz: int | None, random_access: bool,
                      continuity: Continuity) -> None:
    """One PES as transport packets: PUSI, RAI and PCR on the first; stuffing in the last."""
    counter = continuity.counter
    pos, end, first = 0, len(payload), True
    while first or pos < end:
        flags = first and (pcr_27mhz is not None or random_access)
        field_length = 1 + (6 if pcr_27mhz is not None else 0) if flags else 0
        has_field = flags
        space = PACKET_SIZE - 4 - (1 + field_length if has_field else 0)
        if end - pos < space:
            stuffing = space - (end - pos)
            field_length = field_length + stuffing if has_field else stuffing - 1
            has_field = True
        out += _header(pid, first, has_field, counter[pid])
        counter[pid] = (counter[pid] + 1) & 0x0F
        if has_field:
            out.append(field_length)
            if field_length > 0:
                pcr = flags and pcr_27mhz is not None
                out.append((0x40 if flags and random_access else 0) | (0x10 if pcr else 0))
                if pcr:
                    out += write_pcr(pcr_27mhz)
                out += b"\xff" * (field_length - 1 - (6 if pcr else 0))
        take = PACKET_SIZE - 4 - (1 + field_length if has_field else 0)
        out += payload[pos:pos + take]
        pos += take
        first = False


def write_section_packets(out: bytearray, section: bytes, pid: int, continuity: Continuity) -> None:
    """A PSI section after a pointer_field of 0, then 0xFF up to the end of the packet."""
    data = b"\x00" + section
    for at in range(0, len(data), PACKET_SIZE - 4):
        chunk = data[at:at + PACKET_SIZE - 4]
        out += _header(pid, at == 0, False, continuity.counter[pid])
        continuity.counter[pid] = (continuity.counter[pid] + 1) & 0x0F
        out += chunk + b"\xff" * (PACKET_SIZE - 4 - len(chunk))


# --- annexb.cc ----------------------------------------------------------------------------

def _missing(track) -> MissingCodecPrivateError:
    return MissingCodecPrivateError(f"no CodecPrivate for {track.codec_id}", offset=track.codec_private_range[0])


def video_stream(track, h264: bool) -> tuple[bool, int, list[bytes]]:
    """(h264, nal_length_size, parameter sets): avcC SPS then PPS; hvcC VPS, SPS, PPS arrays."""
    record = bytes(track.codec_private)
    if not record:
        raise _missing(track)
    at = track.codec_private_range[0]
    if h264:
        cfg = codec.parse_avc_decoder_configuration(record, at)
        ranges = cfg["sps"] + cfg["pps"]
    else:
        cfg = codec.parse_hevc_decoder_configuration(record, at)
        ranges = [r for t in (_H265_NAL_VPS, _H265_NAL_SPS, _H265_NAL_PPS)
                  for a in cfg["arrays"] if a["nal_unit_type"] == t for r in a["nalus"]]
    return h264, cfg["nal_length_size"], [record[o:o + n] for o, n in ranges]


def annexb(stream: tuple[bool, int, list[bytes]], frame: bytes, frame_offset: int, sync: bool) -> list[bytes]:
    """One access unit in Annex B form (see annexb.h for what is kept and dropped)."""
    h264, length_size, parameter_sets = stream
    pieces = [_H264_AUD if h264 else _H265_AUD]
    if sync:
        for ps in parameter_sets:
            pieces += (_START_CODE, ps)
    aud = _H264_NAL_AUD if h264 else _H265_NAL_AUD
    pos, end = 0, len(frame)
    while pos < end:
        if end - pos < length_size:
            raise InvalidFrameError(f"NAL unit length field runs past the end of the frame ({end - pos} bytes left)",
                                    offset=frame_offset)
        length = int.from_bytes(frame[pos:pos + length_size], "big")
        pos += length_size
        if length > end - pos:
            raise InvalidFrameError(f"NAL unit length {length} runs past the end of the frame ({end - pos} bytes left)",
                                    offset=frame_offset)
        nal = frame[pos:pos + length]
        pos += length
        if not nal or ((nal[0] & 0x1F) if h264 else (nal[0] >> 1) & 0x3F) == aud:
            continue
        pieces += (_START_CODE, nal)
    return pieces


def adts_stream(track) -> tuple[int, int, int]:
    """(profile, sampling_frequency_index, channel_configuration) from the AudioSpecificConfig."""
    asc = bytes(track.codec_private)
    if not asc:
        raise _missing(track)
    at = track.codec_private_range[0]
    cfg = codec.parse_audio_specific_config(asc, at)
    aot, index, channels = cfg["audio_object_type"], cfg["sampling_frequency_index"], cfg["channel_configuration"]
    for bad, what in ((not 1 <= aot <= 4, f"AAC object type {aot}"),
                      (index > 12, f"AAC sampling frequency index {index}"),
                      (not 1 <= channels <= 7, f"AAC channel configuration {channels}")):
        if bad:
            raise UnsupportedCodecError(f"{what} cannot be carried in ADTS", offset=at)
    return aot - 1, index, channels


def adts_header(stream: tuple[int, int, int], frame_size: int, frame_offset: int) -> bytes:
    """ISO/IEC 13818-7 §6.2.1 adts_fixed_header + adts_variable_header, no CRC."""
    limit = MAX_ADTS_FRAME_LENGTH - ADTS_HEADER_SIZE
    if frame_size > limit:
        raise InvalidFrameError(f"AAC frame of {frame_size} bytes does not fit in ADTS (at most {limit})",
                                offset=frame_offset)
    profile, index, channels = stream
    bits = 0
    for width, value in ((12, 0xFFF), (1, 0), (2, 0), (1, 1), (2, profile), (4, index), (1, 0), (3, channels),
                         (1, 0), (1, 0), (1, 0), (1, 0), (13, ADTS_HEADER_SIZE + frame_size), (11, 0x7FF), (2, 0)):
        bits = (bits << width) | (value & ((1 << width) - 1))
    return bits.to_bytes(ADTS_HEADER_SIZE, "big")


# --- segment.cc ---------------------------------------------------------------------------

def _plan(track):
    """(stream_type, is_video, stream) for one track, or the error the C++ core gives."""
    if track.codec_id in ("V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC"):
        h264 = track.codec_id == "V_MPEG4/ISO/AVC"
        return (STREAM_TYPE_H264 if h264 else STREAM_TYPE_H265), True, video_stream(track, h264)
    if track.codec_id.startswith("A_AAC"):
        return STREAM_TYPE_AAC_ADTS, False, adts_stream(track)
    raise UnsupportedCodecError(f"codec {track.codec_id} cannot be written to MPEG-TS (H.264, H.265 and AAC can)",
                                offset=track.codec_private_range[0])


def write_segment(tracks: list, input, input_offset: int, continuity: Continuity) -> bytes:
    """PAT, PMT, then one PES per sample. ``tracks``: (Track, pid, samples in 90 kHz, dts_shift)."""
    if not tracks:
        return b""
    plans = [_plan(t[0]) for t in tracks]
    pcr_pid = next((t[1] for t, p in zip(tracks, plans) if p[1]), tracks[0][1])
    out = bytearray()
    write_section_packets(out, pat_section(PMT_PID), PAT_PID, continuity)
    write_section_packets(out, pmt_section(pcr_pid, [(p[0], t[1]) for t, p in zip(tracks, plans)]), PMT_PID,
                          continuity)
    order = sorted(((s.dts - t[3], i, k) for i, t in enumerate(tracks) for k, s in enumerate(t[2])))
    view = memoryview(input).cast("B")
    for dts, i, k in order:
        track, pid, samples, _shift = tracks[i]
        _stream_type, video, stream = plans[i]
        s = samples[k]
        start = s.offset - input_offset
        if start < 0 or start > len(view) or s.size > len(view) - start:
            raise TruncatedInputError(f"frame of {s.size} bytes runs past the end of the input", offset=s.offset)
        frame = bytes(view[start:start + s.size])
        pts, dts_w = wrap_33(s.pts + TIMESTAMP_OFFSET_90K), wrap_33(dts + TIMESTAMP_OFFSET_90K)
        if video:
            pieces = [pes_header(STREAM_ID_VIDEO, 0, pts, dts_w)] + annexb(stream, frame, s.offset, s.sync)
        else:
            adts = adts_header(stream, len(frame), s.offset)
            length = pes_header_size(False) - 6 + ADTS_HEADER_SIZE + len(frame)
            pieces = [pes_header(STREAM_ID_AUDIO, length, pts, None), adts, frame]
        pcr = wrap_33(dts + TIMESTAMP_OFFSET_90K - PCR_LEAD_90K) * 300 if pid == pcr_pid else None
        write_pes_packets(out, b"".join(pieces), pid, pcr, video and s.sync, continuity)
    return bytes(out)


__all__ = ["Continuity", "write_segment", "crc32_mpeg2", "pat_section", "pmt_section", "pes_header", "write_pts",
           "write_pcr", "write_pes_packets", "write_section_packets", "annexb", "adts_header"]
