# SPDX-License-Identifier: Apache-2.0
"""What a track's codec private says: avcC, hvcC and AudioSpecificConfig, in pure Python.

A line-for-line mirror of ``cpp/src/codec/{bitreader,h264,h265,aac}.cc``: same fields (dict
keys are the C++ member names; a ByteRange is an ``(offset, size)`` tuple relative to the
start of the codec private), same checks in the same order, and on malformed input the same
``InvalidCodecPrivateError`` detail and absolute offset, so native and pure results can be
compared in differential tests. Errors inside an SPS are reported at the NAL unit start.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from kvsmux.errors import InvalidCodecPrivateError

# The largest cropped picture width or height the SPS parsers accept: VisualSampleEntry
# (ISO/IEC 14496-12 §12.1.3) stores them in 16 bits.
MAX_PICTURE_DIMENSION = 65535


class _Malformed(Exception):
    """Raised inside this module; turned into InvalidCodecPrivateError at the public edge."""

    def __init__(self, detail: str, offset: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.offset = offset


@contextlib.contextmanager
def _public() -> Iterator[None]:
    try:
        yield
    except _Malformed as e:
        raise InvalidCodecPrivateError(e.detail, offset=e.offset, path="") from None


@contextlib.contextmanager
def _context(prefix: str, nal_start: int | None = None) -> Iterator[None]:
    """Prefixes an error's detail and, for an escaped NAL unit, moves it to the NAL start
    (RBSP bit positions are not input positions once emulation-prevention bytes are gone)."""
    try:
        yield
    except _Malformed as e:
        raise _Malformed(prefix + e.detail, e.offset if nal_start is None else nal_start) from None


class BitReader:
    """MSB-first bits; errors at the absolute offset of the byte holding the next unread bit."""

    def __init__(self, data: bytes, file_offset: int) -> None:
        self.data = data
        self.base = file_offset
        self.pos = 0  # in bits

    def bits_left(self) -> int:
        return len(self.data) * 8 - self.pos

    def byte_offset(self) -> int:
        return self.base + self.pos // 8

    def u(self, n: int) -> int:
        if self.bits_left() < n:
            raise _Malformed("bitstream ended early", self.byte_offset())
        value = 0
        for _ in range(n):
            bit = (self.data[self.pos // 8] >> (7 - self.pos % 8)) & 1
            value = (value << 1) | bit
            self.pos += 1
        return value

    def flag(self) -> bool:
        return self.u(1) == 1

    def ue(self) -> int:
        # ITU-T H.264 §9.1 / H.265 §9.2: leading zero bits, a one, then as many suffix bits.
        leading_zeros = 0
        while not self.flag():
            leading_zeros += 1
            if leading_zeros > 31:
                raise _Malformed("exp-Golomb code longer than 32 bits", self.byte_offset())
        return (1 << leading_zeros) - 1 + self.u(leading_zeros)

    def se(self) -> int:
        # ITU-T H.264 §9.1.1: k -> (-1)^(k+1) * Ceil(k / 2).
        k = self.ue()
        magnitude = (k + 1) // 2
        return magnitude if k % 2 == 1 else -magnitude

    def skip(self, n: int) -> None:
        self.u(n)  # the same checks; the value is dropped


def remove_emulation_prevention(nal_payload: bytes) -> bytes:
    """00 00 03 -> 00 00 (ITU-T H.264 §7.4.1, H.265 §7.4.2)."""
    out = bytearray()
    zeros = 0
    for b in nal_payload:
        if zeros >= 2 and b == 0x03:
            zeros = 0
            continue
        zeros = zeros + 1 if b == 0 else 0
        out.append(b)
    return bytes(out)


class _ByteReader:
    """Big-endian reads; running out is ``truncated`` at the offset where the read started."""

    def __init__(self, data: bytes, file_offset: int, truncated: str) -> None:
        self.data = data
        self.base = file_offset
        self.pos = 0
        self.truncated = truncated

    def offset(self) -> int:
        return self.base + self.pos

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def take(self, size: int) -> bytes:
        if len(self.data) - self.pos < size:
            raise _Malformed(self.truncated, self.offset())
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk


def _picture_size(coded_width: int, coded_height: int, crop_x: int, crop_y: int, what: str,
                  error_offset: int) -> tuple[int, int]:
    if crop_x >= coded_width or crop_y >= coded_height:
        raise _Malformed(f"{what} exceeds picture size", error_offset)
    if coded_width - crop_x > MAX_PICTURE_DIMENSION or coded_height - crop_y > MAX_PICTURE_DIMENSION:
        raise _Malformed("picture size out of range", error_offset)
    return coded_width - crop_x, coded_height - crop_y


# H.264: ITU-T H.264 and ISO/IEC 14496-15 §5.3.

_H264_NAL_SPS = 7
_EXTENDED_SAR = 255
# ITU-T H.264 Table E-1: the sample aspect ratio of aspect_ratio_idc 0..16 (0 is unspecified).
_SAMPLE_ASPECT_RATIOS = [(0, 0), (1, 1), (12, 11), (10, 11), (16, 11), (40, 33), (24, 11), (20, 11),
                         (32, 11), (80, 33), (18, 11), (15, 11), (64, 33), (160, 99), (4, 3), (3, 2),
                         (2, 1)]
# ITU-T H.264 §7.3.2.1.1: the profiles whose SPS carries chroma_format_idc and bit depths.
_CHROMA_INFO_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _skip_scaling_list(bits: BitReader, size: int) -> None:
    # ITU-T H.264 §7.3.2.1.1.1 scaling_list(): walked to stay in step, the values are not kept.
    last_scale = next_scale = 8
    for _ in range(size):
        if next_scale != 0:
            delta_scale = bits.se()
            if delta_scale < -128 or delta_scale > 127:
                raise _Malformed("delta_scale out of range", bits.byte_offset())
            next_scale = (last_scale + delta_scale + 256) % 256
        if next_scale != 0:
            last_scale = next_scale


def _h264_chroma_info(bits: BitReader, sps: dict) -> None:
    # ITU-T H.264 §7.3.2.1.1: chroma_format_idc .. seq_scaling_matrix_present_flag.
    chroma_format_idc = bits.ue()
    if chroma_format_idc > 3:
        raise _Malformed("chroma_format_idc out of range", bits.byte_offset())
    sps["chroma_format_idc"] = chroma_format_idc
    if chroma_format_idc == 3:
        sps["separate_colour_plane"] = bits.flag()
    luma_minus8 = bits.ue()
    chroma_minus8 = bits.ue()
    if luma_minus8 > 6 or chroma_minus8 > 6:
        raise _Malformed("bit depth out of range", bits.byte_offset())
    sps["bit_depth_luma"] = 8 + luma_minus8
    sps["bit_depth_chroma"] = 8 + chroma_minus8
    bits.skip(1)  # qpprime_y_zero_transform_bypass_flag
    if not bits.flag():  # seq_scaling_matrix_present_flag
        return
    for i in range(8 if chroma_format_idc != 3 else 12):
        if bits.flag():
            _skip_scaling_list(bits, 16 if i < 6 else 64)


def _h264_skip_pic_order_cnt(bits: BitReader) -> None:
    # ITU-T H.264 §7.3.2.1.1: pic_order_cnt_type and the fields each type adds.
    poc_type = bits.ue()
    if poc_type > 2:
        raise _Malformed("pic_order_cnt_type out of range", bits.byte_offset())
    if poc_type == 0:
        if bits.ue() > 12:
            raise _Malformed("log2_max_pic_order_cnt_lsb_minus4 out of range", bits.byte_offset())
    elif poc_type == 1:
        bits.skip(1)  # delta_pic_order_always_zero_flag
        bits.se()  # offset_for_non_ref_pic
        bits.se()  # offset_for_top_to_bottom_field
        cycle_length = bits.ue()
        if cycle_length > 255:
            raise _Malformed("num_ref_frames_in_pic_order_cnt_cycle out of range", bits.byte_offset())
        for _ in range(cycle_length):
            bits.se()  # offset_for_ref_frame


def _h264_vui(bits: BitReader, sps: dict) -> None:
    # ITU-T H.264 §E.1.1 vui_parameters(), up to the timing info.
    if bits.flag():  # aspect_ratio_info_present_flag
        aspect_ratio_idc = bits.u(8)
        if aspect_ratio_idc == _EXTENDED_SAR:
            sps["sar_num"] = bits.u(16)
            sps["sar_den"] = bits.u(16)
        elif aspect_ratio_idc < len(_SAMPLE_ASPECT_RATIOS):  # 17..254 are reserved: 0/0
            sps["sar_num"], sps["sar_den"] = _SAMPLE_ASPECT_RATIOS[aspect_ratio_idc]
    if bits.flag():  # overscan_info_present_flag
        bits.skip(1)
    if bits.flag():  # video_signal_type_present_flag
        bits.skip(4)  # video_format, video_full_range_flag
        if bits.flag():  # colour_description_present_flag
            bits.skip(24)
    if bits.flag():  # chroma_loc_info_present_flag
        bits.ue()
        bits.ue()
    if bits.flag():  # timing_info_present_flag
        sps["timing_num_units_in_tick"] = bits.u(32)
        sps["timing_time_scale"] = bits.u(32)
        sps["fixed_frame_rate"] = bits.flag()


def _h264_sps_rbsp(bits: BitReader) -> dict:
    # ITU-T H.264 §7.3.2.1.1 seq_parameter_set_data().
    sps = {
        "profile_idc": bits.u(8), "constraint_flags": bits.u(8), "level_idc": bits.u(8),
        "seq_parameter_set_id": 0, "chroma_format_idc": 1, "separate_colour_plane": False,
        "bit_depth_luma": 8, "bit_depth_chroma": 8, "frame_mbs_only": True, "width": 0, "height": 0,
        "sar_num": 0, "sar_den": 0, "timing_num_units_in_tick": 0, "timing_time_scale": 0,
        "fixed_frame_rate": False,
    }
    sps_id = bits.ue()
    if sps_id > 31:
        raise _Malformed("seq_parameter_set_id out of range", bits.byte_offset())
    sps["seq_parameter_set_id"] = sps_id
    if sps["profile_idc"] in _CHROMA_INFO_PROFILES:
        _h264_chroma_info(bits, sps)
    if bits.ue() > 12:
        raise _Malformed("log2_max_frame_num_minus4 out of range", bits.byte_offset())
    _h264_skip_pic_order_cnt(bits)
    bits.ue()  # max_num_ref_frames
    bits.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs_minus1 = bits.ue()
    height_map_units_minus1 = bits.ue()
    sps["frame_mbs_only"] = bits.flag()
    if not sps["frame_mbs_only"]:
        bits.skip(1)  # mb_adaptive_frame_field_flag
    bits.skip(1)  # direct_8x8_inference_flag
    crop = [0, 0, 0, 0]  # left, right, top, bottom
    if bits.flag():  # frame_cropping_flag
        crop = [bits.ue() for _ in range(4)]
    # ITU-T H.264 §7.4.2.1.1: crop offsets count in CropUnitX/CropUnitY; without
    # frame_mbs_only_flag a map unit is two macroblock rows high (FrameHeightInMbs).
    field_factor = 1 if sps["frame_mbs_only"] else 2
    chroma_array_type = 0 if sps["separate_colour_plane"] else sps["chroma_format_idc"]
    crop_unit_x, crop_unit_y = 1, field_factor
    if chroma_array_type != 0:
        crop_unit_x = 1 if chroma_array_type == 3 else 2
        crop_unit_y = (2 if chroma_array_type == 1 else 1) * field_factor
    sps["width"], sps["height"] = _picture_size(
        (width_mbs_minus1 + 1) * 16, (height_map_units_minus1 + 1) * 16 * field_factor,
        crop_unit_x * (crop[0] + crop[1]), crop_unit_y * (crop[2] + crop[3]), "frame cropping",
        bits.byte_offset())
    if bits.flag():  # vui_parameters_present_flag
        _h264_vui(bits, sps)
    return sps


def _h264_sps(nal_unit: bytes, offset: int) -> dict:
    # ITU-T H.264 §7.3.1 nal_unit() carrying §7.3.2.1.1 seq_parameter_set_rbsp().
    if not nal_unit:
        raise _Malformed("H.264 SPS is empty", offset)
    if nal_unit[0] & 0x1F != _H264_NAL_SPS:
        raise _Malformed("NAL unit is not an H.264 SPS", offset)
    bits = BitReader(remove_emulation_prevention(nal_unit[1:]), offset)
    with _context("H.264 SPS: ", offset):
        return _h264_sps_rbsp(bits)


def _nal_units(r: _ByteReader, count: int) -> list[tuple[int, int]]:
    # ISO/IEC 14496-15 §5.3.3.1 / §8.3.3.1: per NAL unit a u16 length and its bytes.
    ranges = []
    for _ in range(count):
        size = r.uint(2)
        at = r.pos
        r.take(size)
        ranges.append((at, size))
    return ranges


def _avc_decoder_configuration(data: bytes, offset: int) -> dict:
    # ISO/IEC 14496-15 §5.3.3.1 AVCDecoderConfigurationRecord.
    r = _ByteReader(data, offset, "avcC truncated")
    cfg: dict = {"configuration_version": r.uint(1)}
    if cfg["configuration_version"] != 1:
        raise _Malformed("avcC configurationVersion is not 1", offset)
    cfg["profile_idc"] = r.uint(1)
    cfg["constraint_flags"] = r.uint(1)
    cfg["level_idc"] = r.uint(1)
    length_size_at = r.offset()
    cfg["nal_length_size"] = (r.uint(1) & 0x03) + 1  # 6 reserved bits first
    if cfg["nal_length_size"] == 3:
        raise _Malformed("avcC lengthSizeMinusOne is 2", length_size_at)
    sps_count_at = r.offset()
    sps_count = r.uint(1) & 0x1F  # 3 reserved bits first
    if sps_count == 0:
        raise _Malformed("avcC has no SPS", sps_count_at)
    cfg["sps"] = _nal_units(r, sps_count)
    cfg["pps"] = _nal_units(r, r.uint(1))
    # Bytes after the PPS list (the High-profile extension) are ignored: the SPS says the same.
    at, size = cfg["sps"][0]
    sps = _h264_sps(data[at:at + size], offset + at)
    for key in ("width", "height", "chroma_format_idc", "bit_depth_luma", "bit_depth_chroma", "sar_num",
                "sar_den", "timing_num_units_in_tick", "timing_time_scale", "fixed_frame_rate"):
        cfg[key] = sps[key]
    return cfg


def parse_h264_sps(nal_unit: bytes, offset: int) -> dict:
    """An H.264 SPS NAL unit (1-byte header included, type 7) -> the H264Sps fields."""
    with _public():
        return _h264_sps(bytes(nal_unit), offset)


def parse_avc_decoder_configuration(data: bytes, offset: int) -> dict:
    """An avcC record -> the AvcConfig fields; sps/pps are (offset, size) within ``data``."""
    with _public():
        return _avc_decoder_configuration(bytes(data), offset)


def avc_codec_string(cfg: dict) -> str:
    """RFC 6381 §3.3: ``avc1.PPCCLL`` in lowercase hex."""
    return f"avc1.{cfg['profile_idc']:02x}{cfg['constraint_flags']:02x}{cfg['level_idc']:02x}"


# H.265: ITU-T H.265 and ISO/IEC 14496-15 §8.3.

_H265_NAL_SPS = 33


def _h265_profile_tier_level(bits: BitReader, sps: dict) -> None:
    # ITU-T H.265 §7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1): the general part is
    # kept, the sub-layer parts are skipped (88 profile bits and 8 level bits each).
    sps["general_profile_space"] = bits.u(2)
    sps["general_tier_flag"] = bits.flag()
    sps["general_profile_idc"] = bits.u(5)
    sps["general_profile_compatibility_flags"] = bits.u(32)
    sps["general_constraint_indicator_flags"] = (bits.u(16) << 32) | bits.u(32)
    sps["general_level_idc"] = bits.u(8)
    sub_layers = sps["max_sub_layers"] - 1
    present = [(bits.flag(), bits.flag()) for _ in range(sub_layers)]  # (profile, level)
    if sub_layers > 0:
        bits.skip(2 * (8 - sub_layers))  # reserved_zero_2bits
    for profile_present, level_present in present:
        if profile_present:
            bits.skip(88)
        if level_present:
            bits.skip(8)


def _h265_sps_rbsp(bits: BitReader) -> dict:
    # ITU-T H.265 §7.3.2.2.1 seq_parameter_set_rbsp(), up to bit_depth_chroma_minus8.
    bits.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = bits.u(3)
    if max_sub_layers_minus1 > 6:
        raise _Malformed("sps_max_sub_layers_minus1 out of range", bits.byte_offset())
    sps: dict = {"max_sub_layers": max_sub_layers_minus1 + 1}
    bits.skip(1)  # sps_temporal_id_nesting_flag
    _h265_profile_tier_level(bits, sps)
    sps_id = bits.ue()
    if sps_id > 15:
        raise _Malformed("sps_seq_parameter_set_id out of range", bits.byte_offset())
    sps["seq_parameter_set_id"] = sps_id
    chroma_format_idc = bits.ue()
    if chroma_format_idc > 3:
        raise _Malformed("chroma_format_idc out of range", bits.byte_offset())
    sps["chroma_format_idc"] = chroma_format_idc
    sps["separate_colour_plane"] = bits.flag() if chroma_format_idc == 3 else False
    coded_width = bits.ue()  # pic_width_in_luma_samples
    coded_height = bits.ue()  # pic_height_in_luma_samples
    window = [0, 0, 0, 0]  # left, right, top, bottom
    if bits.flag():  # conformance_window_flag
        window = [bits.ue() for _ in range(4)]
    # ITU-T H.265 §7.4.3.2.1: offsets count in SubWidthC/SubHeightC (Table 6-1).
    chroma_array_type = 0 if sps["separate_colour_plane"] else chroma_format_idc
    sub_width = 2 if chroma_array_type in (1, 2) else 1
    sub_height = 2 if chroma_array_type == 1 else 1
    sps["width"], sps["height"] = _picture_size(
        coded_width, coded_height, sub_width * (window[0] + window[1]), sub_height * (window[2] + window[3]),
        "conformance window", bits.byte_offset())
    luma_minus8 = bits.ue()
    chroma_minus8 = bits.ue()
    if luma_minus8 > 8 or chroma_minus8 > 8:
        raise _Malformed("bit depth out of range", bits.byte_offset())
    sps["bit_depth_luma"] = 8 + luma_minus8
    sps["bit_depth_chroma"] = 8 + chroma_minus8
    return sps


def _h265_sps(nal_unit: bytes, offset: int) -> dict:
    # ITU-T H.265 §7.3.1.1 nal_unit() carrying §7.3.2.2.1 seq_parameter_set_rbsp().
    if len(nal_unit) < 2:
        raise _Malformed("H.265 SPS is shorter than its NAL header", offset)
    if (nal_unit[0] >> 1) & 0x3F != _H265_NAL_SPS:
        raise _Malformed("NAL unit is not an H.265 SPS", offset)
    bits = BitReader(remove_emulation_prevention(nal_unit[2:]), offset)
    with _context("H.265 SPS: ", offset):
        return _h265_sps_rbsp(bits)


def _hevc_decoder_configuration(data: bytes, offset: int) -> dict:
    # ISO/IEC 14496-15 §8.3.3.1 HEVCDecoderConfigurationRecord.
    r = _ByteReader(data, offset, "hvcC truncated")
    cfg: dict = {"configuration_version": r.uint(1)}
    if cfg["configuration_version"] != 1:
        raise _Malformed("hvcC configurationVersion is not 1", offset)
    profile_byte = r.uint(1)
    cfg["general_profile_space"] = profile_byte >> 6
    cfg["general_tier_flag"] = bool(profile_byte & 0x20)
    cfg["general_profile_idc"] = profile_byte & 0x1F
    cfg["general_profile_compatibility_flags"] = r.uint(4)
    cfg["general_constraint_indicator_flags"] = r.uint(6)
    cfg["general_level_idc"] = r.uint(1)
    r.take(3)  # min_spatial_segmentation_idc (u16) and parallelismType (u8), after reserved bits
    cfg["chroma_format_idc"] = r.uint(1) & 0x03
    cfg["bit_depth_luma"] = (r.uint(1) & 0x07) + 8
    cfg["bit_depth_chroma"] = (r.uint(1) & 0x07) + 8
    r.take(2)  # avgFrameRate
    length_size_at = r.offset()
    # constantFrameRate(2) numTemporalLayers(3) temporalIdNested(1) lengthSizeMinusOne(2)
    cfg["nal_length_size"] = (r.uint(1) & 0x03) + 1
    if cfg["nal_length_size"] == 3:
        raise _Malformed("hvcC lengthSizeMinusOne is 2", length_size_at)
    array_count_at = r.offset()
    cfg["arrays"] = []
    for _ in range(r.uint(1)):
        type_byte = r.uint(1)
        cfg["arrays"].append({
            "nal_unit_type": type_byte & 0x3F,
            "array_completeness": bool(type_byte & 0x80),  # then 1 reserved bit
            "nalus": _nal_units(r, r.uint(2)),
        })
    cfg["width"] = cfg["height"] = 0
    for array in cfg["arrays"]:
        if array["nal_unit_type"] == _H265_NAL_SPS and array["nalus"]:
            at, size = array["nalus"][0]
            sps = _h265_sps(data[at:at + size], offset + at)
            cfg["width"], cfg["height"] = sps["width"], sps["height"]
            return cfg
    raise _Malformed("hvcC has no SPS", array_count_at)


def parse_h265_sps(nal_unit: bytes, offset: int) -> dict:
    """An H.265 SPS NAL unit (2-byte header included, type 33) -> the H265Sps fields."""
    with _public():
        return _h265_sps(bytes(nal_unit), offset)


def parse_hevc_decoder_configuration(data: bytes, offset: int) -> dict:
    """An hvcC record -> the HevcConfig fields; NAL ranges are (offset, size) within ``data``."""
    with _public():
        return _hevc_decoder_configuration(bytes(data), offset)


def hevc_codec_string(cfg: dict) -> str:
    """ISO/IEC 14496-15 Annex E, e.g. ``hvc1.1.6.L93.B0``."""
    space = ["", "A", "B", "C"][cfg["general_profile_space"] & 3]
    reversed_flags = int(f"{cfg['general_profile_compatibility_flags']:032b}"[::-1], 2)
    tier = "H" if cfg["general_tier_flag"] else "L"
    text = f"hvc1.{space}{cfg['general_profile_idc']}.{reversed_flags:X}.{tier}{cfg['general_level_idc']}"
    constraint_bytes = list(cfg["general_constraint_indicator_flags"].to_bytes(6, "big"))
    while constraint_bytes and constraint_bytes[-1] == 0:
        constraint_bytes.pop()
    return text + "".join(f".{b:X}" for b in constraint_bytes)


# AAC: ISO/IEC 14496-3.

# ISO/IEC 14496-3 Table 1.16: samplingFrequencyIndex 0..12; 13 and 14 are reserved.
_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
# ISO/IEC 14496-3 channelConfiguration semantics: channels per configuration (0: a PCE says).
_CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0]
_AOT_SBR, _AOT_PS, _AOT_ER_AAC_LD, _AOT_ER_BSAC = 5, 29, 23, 22
_GENERAL_AUDIO = {1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23}  # GASpecificConfig users
_EP_CONFIG = {17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 39}  # followed by epConfig


def _object_type(bits: BitReader) -> int:
    # ISO/IEC 14496-3 §1.6.2.1 GetAudioObjectType(): 5 bits, 31 escapes to 32 + 6 bits.
    aot = bits.u(5)
    return aot if aot != 31 else 32 + bits.u(6)


def _frequency(bits: BitReader) -> tuple[int, int]:
    # ISO/IEC 14496-3 §1.6.2.1 samplingFrequencyIndex; index 15 is followed by the 24-bit rate.
    at = bits.byte_offset()
    index = bits.u(4)
    if index == 15:
        hz = bits.u(24)
        if hz == 0:
            raise _Malformed("samplingFrequency is 0", at)
        return index, hz
    if index >= len(_SAMPLE_RATES):
        raise _Malformed("samplingFrequencyIndex is reserved", at)
    return index, _SAMPLE_RATES[index]


def _ga_specific_config(bits: BitReader, cfg: dict) -> bool:
    # ISO/IEC 14496-3 §4.4.1 GASpecificConfig(). Returns whether its end is known: the
    # program_config_element of channel configuration 0 is not parsed.
    aot = cfg["audio_object_type"]
    frame_length_flag = bits.flag()
    if aot == _AOT_ER_AAC_LD:
        cfg["frame_length"] = 480 if frame_length_flag else 512
    else:
        cfg["frame_length"] = 960 if frame_length_flag else 1024
    if bits.flag():  # dependsOnCoreCoder
        bits.skip(14)  # coreCoderDelay
    extension_flag = bits.flag()
    if cfg["channel_configuration"] == 0:
        return False
    if aot in (6, 20):
        bits.skip(3)  # layerNr
    if extension_flag:
        if aot == _AOT_ER_BSAC:
            bits.skip(16)  # numOfSubFrame, layer_length
        if aot in (17, 19, 20, 23):
            bits.skip(3)  # resilience flags
        bits.skip(1)  # extensionFlag3
    return True


def _sync_extension(bits: BitReader, cfg: dict) -> None:
    # ISO/IEC 14496-3 §1.6.2.1: backward-compatible SBR (and then PS) signalling, looked for
    # only when at least 16 bits are left. ER BSAC with SBR (type 22) is not handled.
    if bits.bits_left() < 16 or bits.u(11) != 0x2B7:
        return
    if _object_type(bits) != _AOT_SBR:
        return
    cfg["sbr_present"] = bits.flag()
    if not cfg["sbr_present"]:
        return
    cfg["extension_sample_rate"] = _frequency(bits)[1]
    if bits.bits_left() >= 12 and bits.u(11) == 0x548:
        cfg["ps_present"] = bits.flag()


def _audio_specific_config(bits: BitReader) -> dict:
    # ISO/IEC 14496-3 §1.6.2.1 AudioSpecificConfig().
    start = bits.byte_offset()
    aot = _object_type(bits)
    if aot == 0:
        raise _Malformed("audioObjectType is 0", start)
    index, rate = _frequency(bits)
    channel_configuration = bits.u(4)
    cfg = {"audio_object_type": 0, "sampling_frequency_index": index, "sample_rate": rate,
           "channel_configuration": channel_configuration, "channels": _CHANNELS[channel_configuration],
           "sbr_present": False, "ps_present": False, "extension_sample_rate": 0, "frame_length": 1024}
    # Hierarchical signalling: the SBR/PS type first, then the core type it extends.
    hierarchical_sbr = aot in (_AOT_SBR, _AOT_PS)
    if hierarchical_sbr:
        cfg["sbr_present"] = True
        cfg["ps_present"] = aot == _AOT_PS
        cfg["extension_sample_rate"] = _frequency(bits)[1]
        aot = _object_type(bits)
        if aot == _AOT_ER_BSAC:
            bits.skip(4)  # extensionChannelConfiguration
    cfg["audio_object_type"] = aot
    if aot not in _GENERAL_AUDIO:
        return cfg  # only GASpecificConfig is needed here
    if not _ga_specific_config(bits, cfg) or hierarchical_sbr:
        return cfg
    if aot in _EP_CONFIG and bits.u(2) >= 2:
        return cfg  # ErrorProtectionSpecificConfig is not parsed
    _sync_extension(bits, cfg)
    return cfg


def parse_audio_specific_config(data: bytes, offset: int) -> dict:
    """An AudioSpecificConfig -> the AacConfig fields."""
    with _public():
        data = bytes(data)
        if not data:
            raise _Malformed("AudioSpecificConfig is empty", offset)
        with _context("AudioSpecificConfig: "):
            return _audio_specific_config(BitReader(data, offset))


def aac_codec_string(cfg: dict) -> str:
    """RFC 6381 §3.3 ``mp4a.40.<object type>``; HE-AAC is 5 and HE-AAC v2 29 however signalled."""
    aot = 29 if cfg["ps_present"] else 5 if cfg["sbr_present"] else cfg["audio_object_type"]
    return f"mp4a.40.{aot}"
