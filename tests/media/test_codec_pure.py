# SPDX-License-Identifier: Apache-2.0
"""The pure-Python codec private parsers: the vectors of cpp/tests/{bitreader,h264,h265,aac}_test.cc
with the same expected values, errors and offsets, plus SPS/PPS/VPS from the real recordings
in ../shared/media checked against ffprobe."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kvsmux.errors import InvalidCodecPrivateError
from kvsmux.media.pure import codec


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# vectors, byte for byte the ones in the C++ tests (see the comments there)

# ../shared/media/kvs-producer-c/h264SampleFrames/frame-001.h264: High, 640x480, level 30.
SPS_640X480 = h("67 64001e acb201407b602d41804150 000003 0010000003 0328f162e480")
PPS_640X480 = h("68ebccb22c")
# ../shared/media/kvs-producer-embedded-c/h264_annexb/frame-001.h264: 1920x1088 cropped to 1080.
SPS_1920X1080 = h("67 640028 acb200f0044fcb80b5010101400000fa40003a9823c60c92")
# Hand-made, read back with ffmpeg's trace_headers (fields listed in h264_test.cc).
SPS_BASELINE_FIELDS = h("67 42 c0 1e 54 64 68 e8 0b 42 4f 2a 7f f8 02 00 01 6b 50 10 "
                        "10 1f 00 00 03 03 e9 00 00 ea 60 04")
SPS_HIGH_444 = h("67 f4 00 33 92 db 08 82 92 49 24 92 49 24 92 49 24 92 49 24 "
                 "92 49 24 92 49 24 92 49 24 92 49 25 14 1b 02 d9 40 78 02 27 "
                 "e2 70 2c 04")
SPS_HIGH_422 = h("677a0028bcb40501eea888")

# ../shared/media/kvs-producer-c/h265SampleFrames/frame-001.h265: Main, 640x360, level 150.
VPS_640X360 = h("40010c01ffff01600000030000030000030000030096ac0c0000030004000003006540")
SPS_640X360 = h("42 01 01 01 60 00 00 03 00 00 03 00 00 03 00 00 03 00 96 a0 "
                "05 02 01 69 63 6b 92 4c 9a e5 9c 02 00 00 03 00 02 00 00 03 "
                "00 32 10")
PPS_640X360 = h("4401e076b02640")
# Hand-made, read back with trace_headers (fields listed in h265_test.cc).
SPS_SUB_LAYERS = h("42 01 05 22 20 00 00 03 00 90 00 00 03 00 00 03 00 78 90 00 "
                   "22 20 00 00 03 00 90 00 00 03 00 00 03 00 5a a0 03 c0 80 11 "
                   "07 ca d9 60")
SPS_444 = h("42 01 01 04 08 00 00 03 00 9e 08 00 00 03 00 00 5d 21 00 05 "
            "01 00 5a 32 2f 80")


def avcc_640x480() -> bytes:
    return (h("01 64001e ff e1") + len(SPS_640X480).to_bytes(2, "big") + SPS_640X480
            + h("01") + len(PPS_640X480).to_bytes(2, "big") + PPS_640X480)


def hvcc(arrays: list[tuple[int, bytes]], header: bytes | None = None) -> bytes:
    """An hvcC with one NAL unit per array, each marked complete."""
    out = header or h("01 01 60000000 000000000000 96 f000 fc fd f8 f8 0000 0f")
    out += bytes([len(arrays)])
    for nal_unit_type, nal in arrays:
        out += bytes([0x80 | nal_unit_type]) + h("0001") + len(nal).to_bytes(2, "big") + nal
    return out


def hvcc_640x360() -> bytes:
    return hvcc([(32, VPS_640X360), (33, SPS_640X360), (34, PPS_640X360)])


def raises(fn, data: bytes, offset: int) -> InvalidCodecPrivateError:
    with pytest.raises(InvalidCodecPrivateError) as info:
        fn(data, offset)
    assert info.value.code == "invalid_codec_private"
    return info.value


def check_error(fn, data: bytes, offset: int, want_offset: int, want_detail: str) -> None:
    e = raises(fn, data, offset)
    assert (e.offset, e.detail, e.path) == (want_offset, want_detail, "")


# bit reader

def test_bit_reader_fields_and_exp_golomb():
    bits = codec.BitReader(h("a53cff0012"), 100)
    assert [bits.u(0), bits.u(3), bits.flag(), bits.u(8)] == [0, 0b101, False, 0b01010011]
    assert (bits.byte_offset(), bits.bits_left()) == (101, 28)
    assert bits.u(28) == 0xCFF0012
    ue = codec.BitReader(h("a64100"), 0)
    assert [ue.ue() for _ in range(5)] == [0, 1, 2, 3, 7]
    se = codec.BitReader(h("a64280"), 0)
    assert [se.se() for _ in range(5)] == [0, 1, -1, 2, -2]
    assert codec.BitReader(h("00000001fffffffe"), 0).ue() == 0xFFFFFFFE
    assert codec.BitReader(h("00000001fffffffe"), 0).se() == -2147483647


def test_bit_reader_errors():
    bits = codec.BitReader(h("ffff"), 40)
    bits.u(12)
    with pytest.raises(codec._Malformed) as info:
        bits.u(5)
    assert (info.value.offset, info.value.detail) == (41, "bitstream ended early")
    assert bits.bits_left() == 4
    with pytest.raises(codec._Malformed) as info:
        codec.BitReader(h("0000000080"), 10).ue()
    assert (info.value.offset, info.value.detail) == (14, "exp-Golomb code longer than 32 bits")


@pytest.mark.parametrize("raw, rbsp", [
    ("00000301", "000001"), ("000003000003", "00000000"), ("0000000302", "00000002"),
    ("00000303", "000003"), ("0003000312", "0003000312"), ("", ""),
])
def test_remove_emulation_prevention(raw, rbsp):
    assert codec.remove_emulation_prevention(h(raw)) == h(rbsp)


# H.264

def test_avcc_from_kvs_producer_c():
    cfg = codec.parse_avc_decoder_configuration(avcc_640x480(), 1000)
    assert cfg == {
        "configuration_version": 1, "profile_idc": 100, "constraint_flags": 0, "level_idc": 30,
        "nal_length_size": 4, "sps": [(8, 29)], "pps": [(40, 5)], "width": 640, "height": 480,
        "chroma_format_idc": 1, "bit_depth_luma": 8, "bit_depth_chroma": 8, "sar_num": 1, "sar_den": 1,
        "timing_num_units_in_tick": 1, "timing_time_scale": 50, "fixed_frame_rate": True,
    }
    assert codec.avc_codec_string(cfg) == "avc1.64001e"


@pytest.mark.parametrize("sps, want", [
    (SPS_1920X1080, {"width": 1920, "height": 1080, "level_idc": 40, "timing_num_units_in_tick": 1001,
                     "timing_time_scale": 60000}),
    (SPS_BASELINE_FIELDS, {"profile_idc": 66, "constraint_flags": 0xC0, "seq_parameter_set_id": 1,
                           "chroma_format_idc": 1, "frame_mbs_only": False, "width": 712, "height": 564,
                           "sar_num": 64, "sar_den": 45, "timing_num_units_in_tick": 1001,
                           "timing_time_scale": 60000, "fixed_frame_rate": False}),
    (SPS_HIGH_444, {"profile_idc": 244, "level_idc": 51, "chroma_format_idc": 3, "separate_colour_plane": True,
                    "bit_depth_luma": 10, "bit_depth_chroma": 10, "width": 1920, "height": 1080,
                    "sar_num": 12, "sar_den": 11, "timing_time_scale": 0}),
    (SPS_HIGH_422, {"chroma_format_idc": 2, "width": 638, "height": 476, "sar_num": 0, "sar_den": 0}),
])
def test_h264_sps(sps, want):
    got = codec.parse_h264_sps(sps, 0)
    assert {k: got[k] for k in want} == want


def test_avcc_ignores_the_high_profile_extension():
    assert codec.parse_avc_decoder_configuration(avcc_640x480() + h("fdf8f800"), 0)["width"] == 640


def test_avc_codec_string():
    assert codec.avc_codec_string({"profile_idc": 66, "constraint_flags": 0xC0, "level_idc": 30}) == "avc1.42c01e"
    assert codec.avc_codec_string({"profile_idc": 100, "constraint_flags": 0, "level_idc": 31}) == "avc1.64001f"


def _patched(data: bytes, index: int, value: int) -> bytes:
    return data[:index] + bytes([value]) + data[index + 1:]


@pytest.mark.parametrize("index, value, want_offset, want_detail", [
    (0, 0x00, 500, "avcC configurationVersion is not 1"),
    (4, 0xFE, 504, "avcC lengthSizeMinusOne is 2"),
    (5, 0xE0, 505, "avcC has no SPS"),
    (7, 0x40, 508, "avcC truncated"),
    (8, 0x68, 508, "NAL unit is not an H.264 SPS"),
])
def test_avcc_errors(index, value, want_offset, want_detail):
    check_error(codec.parse_avc_decoder_configuration, _patched(avcc_640x480(), index, value), 500,
                want_offset, want_detail)


def test_avcc_every_prefix_is_an_error():
    check_error(codec.parse_avc_decoder_configuration, b"", 500, 500, "avcC truncated")
    record = avcc_640x480()
    for n in range(len(record)):
        raises(codec.parse_avc_decoder_configuration, record[:n], 0)


@pytest.mark.parametrize("sps", [SPS_640X480, SPS_1920X1080, SPS_BASELINE_FIELDS, SPS_HIGH_444, SPS_HIGH_422])
def test_h264_sps_prefix_errors_or_reads_the_same(sps):
    whole = codec.parse_h264_sps(sps, 0)
    for n in range(len(sps)):
        try:
            assert codec.parse_h264_sps(sps[:n], 77) == whole  # parsing stops after the timing info
        except InvalidCodecPrivateError as e:
            assert e.offset == 77


@pytest.mark.parametrize("data, want_detail", [
    ("", "H.264 SPS is empty"),
    (SPS_640X480[:12].hex(), "H.264 SPS: bitstream ended early"),
    ("6742001ec9", "H.264 SPS: pic_order_cnt_type out of range"),
    ("6742001e0430", "H.264 SPS: seq_parameter_set_id out of range"),
    ("6764001e94", "H.264 SPS: chroma_format_idc out of range"),
    ("6742001ed3008080", "H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle out of range"),
    ("6742001eddf13d", "H.264 SPS: frame cropping exceeds picture size"),
])
def test_h264_sps_errors(data, want_detail):
    check_error(codec.parse_h264_sps, h(data), 3, 3, want_detail)


def test_avcc_survives_corruption():
    record = avcc_640x480()
    for i in range(len(record)):
        for mask in (0x01, 0x80, 0xFF):
            try:
                codec.parse_avc_decoder_configuration(_patched(record, i, record[i] ^ mask), 0)
            except InvalidCodecPrivateError:
                pass


# H.265

def test_hvcc_from_kvs_producer_c():
    cfg = codec.parse_hevc_decoder_configuration(hvcc_640x360(), 2000)
    assert cfg == {
        "configuration_version": 1, "general_profile_space": 0, "general_tier_flag": False,
        "general_profile_idc": 1, "general_profile_compatibility_flags": 0x60000000,
        "general_constraint_indicator_flags": 0, "general_level_idc": 150, "chroma_format_idc": 1,
        "bit_depth_luma": 8, "bit_depth_chroma": 8, "nal_length_size": 4,
        "arrays": [
            {"nal_unit_type": 32, "array_completeness": True, "nalus": [(28, 35)]},
            {"nal_unit_type": 33, "array_completeness": True, "nalus": [(68, 43)]},
            {"nal_unit_type": 34, "array_completeness": True, "nalus": [(116, 7)]},
        ],
        "width": 640, "height": 360,
    }
    assert codec.hevc_codec_string(cfg) == "hvc1.1.6.L150"


def test_h265_sps_with_sub_layers():
    assert codec.parse_h265_sps(SPS_SUB_LAYERS, 0) == {
        "max_sub_layers": 3, "general_profile_space": 0, "general_tier_flag": True, "general_profile_idc": 2,
        "general_profile_compatibility_flags": 0x20000000, "general_constraint_indicator_flags": 0x900000000000,
        "general_level_idc": 120, "seq_parameter_set_id": 0, "chroma_format_idc": 1,
        "separate_colour_plane": False, "width": 1920, "height": 1080, "bit_depth_luma": 10,
        "bit_depth_chroma": 10,
    }


def test_h265_sps_444_window():
    sps = codec.parse_h265_sps(SPS_444, 0)
    assert (sps["seq_parameter_set_id"], sps["chroma_format_idc"], sps["width"], sps["height"]) == (3, 3, 1276, 720)
    assert sps["general_constraint_indicator_flags"] == 0x9E0800000000


def test_hvcc_with_only_an_sps_array():
    header = h("01 22 20000000 900000000000 78 f000 fc fd fa fa 0000 0d")
    record = header + h("01 21 0001") + len(SPS_SUB_LAYERS).to_bytes(2, "big") + SPS_SUB_LAYERS
    cfg = codec.parse_hevc_decoder_configuration(record, 0)
    assert (cfg["nal_length_size"], cfg["bit_depth_luma"], cfg["height"]) == (2, 10, 1080)
    assert cfg["arrays"][0]["array_completeness"] is False
    assert codec.hevc_codec_string(cfg) == "hvc1.2.4.H120.90"


@pytest.mark.parametrize("fields, want", [
    ({"general_profile_idc": 1, "general_profile_compatibility_flags": 0x60000000, "general_level_idc": 93,
      "general_constraint_indicator_flags": 0xB00000000000}, "hvc1.1.6.L93.B0"),
    ({"general_profile_space": 1, "general_profile_idc": 4, "general_profile_compatibility_flags": 0x08000000,
      "general_level_idc": 93, "general_constraint_indicator_flags": 0x9E0800000000}, "hvc1.A4.10.L93.9E.8"),
    ({"general_tier_flag": True, "general_profile_idc": 4, "general_profile_compatibility_flags": 0x08000000,
      "general_level_idc": 93, "general_constraint_indicator_flags": 1}, "hvc1.4.10.H93.0.0.0.0.0.1"),
])
def test_hevc_codec_string(fields, want):
    cfg = {"general_profile_space": 0, "general_tier_flag": False, **fields}
    assert codec.hevc_codec_string(cfg) == want


@pytest.mark.parametrize("index, value, want_offset, want_detail", [
    (0, 0x00, 700, "hvcC configurationVersion is not 1"),
    (21, 0x0E, 721, "hvcC lengthSizeMinusOne is 2"),
    (63, 0xA7, 722, "hvcC has no SPS"),
    (66, 0x01, 768, "hvcC truncated"),
    (68, 0x40, 768, "NAL unit is not an H.265 SPS"),
    (70, 0x0F, 768, "H.265 SPS: sps_max_sub_layers_minus1 out of range"),
])
def test_hvcc_errors(index, value, want_offset, want_detail):
    check_error(codec.parse_hevc_decoder_configuration, _patched(hvcc_640x360(), index, value), 700,
                want_offset, want_detail)


def test_hvcc_every_prefix_is_an_error():
    check_error(codec.parse_hevc_decoder_configuration, b"", 700, 700, "hvcC truncated")
    record = hvcc_640x360()
    for n in range(len(record)):
        raises(codec.parse_hevc_decoder_configuration, record[:n], 0)


@pytest.mark.parametrize("sps", [SPS_640X360, SPS_SUB_LAYERS, SPS_444])
def test_h265_sps_prefix_errors_or_reads_the_same(sps):
    whole = codec.parse_h265_sps(sps, 0)
    for n in range(len(sps)):
        try:
            assert codec.parse_h265_sps(sps[:n], 55) == whole  # parsing stops after the bit depths
        except InvalidCodecPrivateError as e:
            assert e.offset == 55


@pytest.mark.parametrize("data, want_detail", [
    (SPS_640X360[:1].hex(), "H.265 SPS is shorter than its NAL header"),
    (SPS_640X360[:20].hex(), "H.265 SPS: bitstream ended early"),
    ("4201010160000003009000000300000300 5da0884627f0".replace(" ", ""),
     "H.265 SPS: conformance window exceeds picture size"),
])
def test_h265_sps_errors(data, want_detail):
    check_error(codec.parse_h265_sps, h(data), 8, 8, want_detail)


def test_hvcc_survives_corruption():
    record = hvcc_640x360()
    for i in range(len(record)):
        for mask in (0x01, 0x80, 0xFF):
            try:
                codec.parse_hevc_decoder_configuration(_patched(record, i, record[i] ^ mask), 0)
            except InvalidCodecPrivateError:
                pass


# AAC

AAC_DEFAULTS = {"sbr_present": False, "ps_present": False, "extension_sample_rate": 0, "frame_length": 1024}


@pytest.mark.parametrize("data, want, codec_string", [
    ("1210", {"audio_object_type": 2, "sampling_frequency_index": 4, "sample_rate": 44100,
              "channel_configuration": 2, "channels": 2}, "mp4a.40.2"),
    ("1190", {"audio_object_type": 2, "sampling_frequency_index": 3, "sample_rate": 48000,
              "channel_configuration": 2, "channels": 2}, "mp4a.40.2"),
    ("131056e598", {"audio_object_type": 2, "sampling_frequency_index": 6, "sample_rate": 24000,
                    "channel_configuration": 2, "channels": 2, "sbr_present": True,
                    "extension_sample_rate": 48000}, "mp4a.40.5"),
    ("130856e59d4880", {"audio_object_type": 2, "sampling_frequency_index": 6, "sample_rate": 24000,
                        "channel_configuration": 1, "channels": 1, "sbr_present": True, "ps_present": True,
                        "extension_sample_rate": 48000}, "mp4a.40.29"),
    ("2b920800", {"audio_object_type": 2, "sampling_frequency_index": 7, "sample_rate": 22050,
                  "channel_configuration": 2, "channels": 2, "sbr_present": True,
                  "extension_sample_rate": 44100}, "mp4a.40.5"),
    ("eb098800", {"audio_object_type": 2, "sampling_frequency_index": 6, "sample_rate": 24000,
                  "channel_configuration": 1, "channels": 1, "sbr_present": True, "ps_present": True,
                  "extension_sample_rate": 48000}, "mp4a.40.29"),
    ("f94640", {"audio_object_type": 42, "sampling_frequency_index": 3, "sample_rate": 48000,
                "channel_configuration": 2, "channels": 2}, "mp4a.40.42"),
    ("17802b6710", {"audio_object_type": 2, "sampling_frequency_index": 15, "sample_rate": 22222,
                    "channel_configuration": 2, "channels": 2}, "mp4a.40.2"),
    ("1194", {"audio_object_type": 2, "sampling_frequency_index": 3, "sample_rate": 48000,
              "channel_configuration": 2, "channels": 2, "frame_length": 960}, "mp4a.40.2"),
    ("b98800", {"audio_object_type": 23, "sampling_frequency_index": 3, "sample_rate": 48000,
                "channel_configuration": 1, "channels": 1, "frame_length": 512}, "mp4a.40.23"),
    ("1238", {"audio_object_type": 2, "sampling_frequency_index": 4, "sample_rate": 44100,
              "channel_configuration": 7, "channels": 8}, "mp4a.40.2"),
    ("120000", {"audio_object_type": 2, "sampling_frequency_index": 4, "sample_rate": 44100,
                "channel_configuration": 0, "channels": 0}, "mp4a.40.2"),
])
def test_audio_specific_config(data, want, codec_string):
    cfg = codec.parse_audio_specific_config(h(data), 0)
    assert cfg == {**AAC_DEFAULTS, **want}
    assert codec.aac_codec_string(cfg) == codec_string


@pytest.mark.parametrize("data, want_offset, want_detail", [
    ("", 300, "AudioSpecificConfig is empty"),
    ("12", 300, "AudioSpecificConfig: bitstream ended early"),
    ("1690", 300, "AudioSpecificConfig: samplingFrequencyIndex is reserved"),
    ("1780000010", 300, "AudioSpecificConfig: samplingFrequency is 0"),
    ("0210", 300, "AudioSpecificConfig: audioObjectType is 0"),
    ("131056e5", 304, "AudioSpecificConfig: bitstream ended early"),
])
def test_audio_specific_config_errors(data, want_offset, want_detail):
    check_error(codec.parse_audio_specific_config, h(data), 300, want_offset, want_detail)


def test_truncated_audio_specific_configs():
    for config in (h("1210"), h("1190")):
        for n in range(len(config)):
            raises(codec.parse_audio_specific_config, config[:n], 0)
    he = h("131056e598")
    for n in range(len(he)):
        try:
            assert not codec.parse_audio_specific_config(he[:n], 0)["sbr_present"]
        except InvalidCodecPrivateError:
            pass


# real recordings, checked against ffprobe

MEDIA = Path(os.environ.get("KVSMUX_SHARED_MEDIA", Path(__file__).resolve().parents[3] / "shared" / "media"))
FFPROBE = shutil.which("ffprobe")
H264_PROFILES = {66: "Baseline", 77: "Main", 100: "High"}
HEVC_PROFILES = {1: "Main", 2: "Main 10"}


def media_file(relative: str) -> Path:
    path = MEDIA / relative
    if not path.is_file():
        pytest.skip(f"not verifying against real media: {path} is absent")
    return path


def ffprobe_stream(path: Path, fmt: str) -> dict:
    if FFPROBE is None:
        pytest.skip("not cross-checking: ffprobe is not installed")
    out = subprocess.run([FFPROBE, "-v", "error", "-show_streams", "-of", "json", "-f", fmt, str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["streams"][0]


def annexb_nal_units(data: bytes) -> list[bytes]:
    """Splits an Annex-B stream at 00 00 01 start codes (a 4-byte code leaves a trailing 00)."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    units = []
    for n, start in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        unit = data[start:end]
        units.append(unit.rstrip(b"\x00") if n + 1 < len(starts) else unit)
    return units


@pytest.mark.crosscheck
@pytest.mark.parametrize("relative", [
    "kvs-producer-c/h264SampleFrames/frame-001.h264",
    "kvs-producer-embedded-c/h264_annexb/frame-001.h264",  # 1088 coded rows cropped to 1080
])
def test_avcc_from_real_h264_matches_ffprobe(relative):
    path = media_file(relative)
    units = annexb_nal_units(path.read_bytes())
    sps = next(u for u in units if u[0] & 0x1F == 7)
    pps = next(u for u in units if u[0] & 0x1F == 8)
    record = (bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]) + len(sps).to_bytes(2, "big") + sps
              + b"\x01" + len(pps).to_bytes(2, "big") + pps)
    cfg = codec.parse_avc_decoder_configuration(record, 0)
    stream = ffprobe_stream(path, "h264")
    assert (cfg["width"], cfg["height"]) == (stream["width"], stream["height"])
    assert H264_PROFILES[cfg["profile_idc"]] == stream["profile"]
    assert cfg["level_idc"] == stream["level"]
    assert f"{cfg['sar_num']}:{cfg['sar_den']}" == stream["sample_aspect_ratio"]
    assert cfg["sps"] == [(8, len(sps))]


@pytest.mark.crosscheck
def test_hvcc_from_real_h265_matches_ffprobe():
    path = media_file("kvs-producer-c/h265SampleFrames/frame-001.h265")
    units = annexb_nal_units(path.read_bytes())
    by_type = {}
    for u in units:
        by_type.setdefault((u[0] >> 1) & 0x3F, u)
    sps = codec.parse_h265_sps(by_type[33], 0)
    header = (bytes([1, (sps["general_profile_space"] << 6) | (sps["general_tier_flag"] << 5)
                     | sps["general_profile_idc"]])
              + sps["general_profile_compatibility_flags"].to_bytes(4, "big")
              + sps["general_constraint_indicator_flags"].to_bytes(6, "big")
              + bytes([sps["general_level_idc"], 0xF0, 0x00, 0xFC, 0xFC | sps["chroma_format_idc"],
                       0xF8 | (sps["bit_depth_luma"] - 8), 0xF8 | (sps["bit_depth_chroma"] - 8), 0, 0, 0x0F]))
    record = hvcc([(32, by_type[32]), (33, by_type[33]), (34, by_type[34])], header)
    cfg = codec.parse_hevc_decoder_configuration(record, 0)
    stream = ffprobe_stream(path, "hevc")
    assert (cfg["width"], cfg["height"]) == (stream["width"], stream["height"])
    assert HEVC_PROFILES[cfg["general_profile_idc"]] == stream["profile"]
    assert cfg["general_level_idc"] == stream["level"]
    assert codec.hevc_codec_string(cfg) == "hvc1.1.6.L150"
