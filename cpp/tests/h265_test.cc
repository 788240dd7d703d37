// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/h265.h"

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"

using kvsmux::ByteRange;
using kvsmux::ByteSpan;
using kvsmux::Errc;
using kvsmux::Error;
using kvsmux::Result;
using namespace kvsmux::codec;

namespace {

// The VPS, SPS and PPS of ../shared/media/kvs-producer-c/h265SampleFrames/frame-001.h265
// (ffprobe -show_streams: hevc, profile Main, 640x360, level 150).
const std::vector<std::byte> kVps = check::bytes({
    0x40, 0x01,  // nal_unit_type 32 (VPS)
    0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x96, 0xac, 0x0c, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03,
    0x00, 0x65, 0x40,
});
const std::vector<std::byte> kSps640x360 = check::bytes({
    0x42, 0x01,  // nal_unit_type 33 (SPS), nuh_layer_id 0, nuh_temporal_id_plus1 1
    0x01,        // sps_video_parameter_set_id 0, sps_max_sub_layers_minus1 0, temporal_id_nesting 1
    0x01,                    // general_profile_space 0, tier 0, general_profile_idc 1 (Main)
    0x60, 0x00, 0x00,        // general_profile_compatibility_flags 0x60000000 ...
    0x03,                    // (emulation prevention)
    0x00,                    // ... its last byte
    0x00, 0x03, 0x00, 0x00,  // general_constraint_indicator_flags: 6 zero bytes, with
    0x03, 0x00, 0x00, 0x03,  // emulation prevention after every second zero
    0x00,
    0x96,                    // general_level_idc 150
    0xa0, 0x05, 0x02, 0x01, 0x69,  // sps_id 0, chroma_format_idc 1, width 640, height 360, ...
    0x63, 0x6b, 0x92, 0x4c, 0x9a, 0xe5, 0x9c, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
    0x03, 0x00, 0x32, 0x10,
});
const std::vector<std::byte> kPps = check::bytes({0x44, 0x01, 0xe0, 0x76, 0xb0, 0x26, 0x40});

// Hand-made (read back with ffmpeg's trace_headers): sps_max_sub_layers_minus1 2, sub-layer 0
// with a profile, sub-layer 1 with a level; general: tier 1 (High), profile_idc 2 (Main 10),
// compatibility flag 2, constraint flags progressive_source + frame_only (0x90 0 0 0 0 0),
// level_idc 120; sps_id 0, chroma_format_idc 1, 1920x1088 with conf_win_bottom_offset 4
// (SubHeightC 2: 1080), bit depths 10/10.
const std::vector<std::byte> kSpsSubLayers = check::bytes({
    0x42, 0x01, 0x05, 0x22, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x78, 0x90, 0x00, 0x22, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x5a, 0xa0, 0x03, 0xc0, 0x80, 0x11, 0x07, 0xca, 0xd9, 0x60,
});

// Hand-made (read back with trace_headers): profile_idc 4 (format range extensions), level 93,
// constraint flags 0x9e 0x08 (progressive, frame_only, max_12/10/8bit, lower_bit_rate),
// sps_id 3, chroma_format_idc 3 without separate planes, 1280x720 with conf_win_left 3 and
// right 1 (SubWidthC 1: 1276), bit depths 8/8.
const std::vector<std::byte> kSps444 = check::bytes({
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x9e, 0x08, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x5d, 0x21, 0x00, 0x05, 0x01, 0x00, 0x5a, 0x32, 0x2f, 0x80,
});

std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::byte> u16(std::size_t v) { return check::bytes({int(v >> 8), int(v & 0xff)}); }

// hvcC of the kvs-producer-c sample, as a muxer would write it.
std::vector<std::byte> hvcc_640x360() {
  return cat({
      check::bytes({
          0x01,                    // configurationVersion 1
          0x01,                    // general_profile_space 0, tier 0, general_profile_idc 1
          0x60, 0x00, 0x00, 0x00,  // general_profile_compatibility_flags
          0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // general_constraint_indicator_flags
          0x96,                    // general_level_idc 150
          0xf0, 0x00,              // reserved '1111', min_spatial_segmentation_idc 0
          0xfc,                    // reserved '111111', parallelismType 0
          0xfd,                    // reserved '111111', chromaFormat 1
          0xf8,                    // reserved '11111', bitDepthLumaMinus8 0
          0xf8,                    // reserved '11111', bitDepthChromaMinus8 0
          0x00, 0x00,              // avgFrameRate 0
          0x0f,  // constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, lengthSizeMinusOne 3
          0x03,  // numOfArrays 3
          0xa0,  // array_completeness 1, reserved 0, NAL_unit_type 32 (VPS)
      }),
      u16(1), u16(kVps.size()), kVps,  // VPS at 28
      check::bytes({0xa1}),            // array_completeness 1, NAL_unit_type 33 (SPS)
      u16(1), u16(kSps640x360.size()), kSps640x360,  // SPS at 68
      check::bytes({0xa2}),            // array_completeness 1, NAL_unit_type 34 (PPS)
      u16(1), u16(kPps.size()), kPps,  // PPS at 116
  });
}

Error error_of(const Result<HevcConfig>& r) { return r.ok() ? Error{} : r.error(); }
Error error_of(const Result<H265Sps>& r) { return r.ok() ? Error{} : r.error(); }

void check_error(const Error& e, std::uint64_t offset, const char* detail) {
  CHECK(e.code == Errc::kInvalidCodecPrivate);
  CHECK_EQ(e.offset, offset);
  CHECK_EQ(e.detail, std::string(detail));
}

}  // namespace

TEST_CASE(parses_hvcc_from_kvs_producer_c) {
  const auto record = hvcc_640x360();
  const auto r = parse_hevc_decoder_configuration(record, 2000);
  CHECK(r.ok());
  const HevcConfig& c = r.value();
  CHECK_EQ(c.configuration_version, 1);
  CHECK_EQ(c.general_profile_space, 0);
  CHECK_EQ(c.general_tier_flag, false);
  CHECK_EQ(c.general_profile_idc, 1);
  CHECK_EQ(c.general_profile_compatibility_flags, 0x60000000u);
  CHECK_EQ(c.general_constraint_indicator_flags, 0u);
  CHECK_EQ(c.general_level_idc, 150);
  CHECK_EQ(c.chroma_format_idc, 1);
  CHECK_EQ(c.bit_depth_luma, 8);
  CHECK_EQ(c.bit_depth_chroma, 8);
  CHECK_EQ(c.nal_length_size, 4);
  CHECK_EQ(c.arrays.size(), 3u);
  CHECK_EQ(c.arrays[0].nal_unit_type, 32);
  CHECK_EQ(c.arrays[0].array_completeness, true);
  CHECK((c.arrays[0].nalus == std::vector<ByteRange>{{28, 35}}));
  CHECK_EQ(c.arrays[1].nal_unit_type, 33);
  CHECK((c.arrays[1].nalus == std::vector<ByteRange>{{68, 43}}));
  CHECK_EQ(c.arrays[2].nal_unit_type, 34);
  CHECK((c.arrays[2].nalus == std::vector<ByteRange>{{116, 7}}));
  CHECK_EQ(c.width, 640u);
  CHECK_EQ(c.height, 360u);
  CHECK_EQ(hevc_codec_string(c), std::string("hvc1.1.6.L150"));
}

TEST_CASE(parses_sps_with_sub_layers_and_a_conformance_window) {
  const auto r = parse_h265_sps(kSpsSubLayers, 0);
  CHECK(r.ok());
  const H265Sps& s = r.value();
  CHECK_EQ(s.max_sub_layers, 3);
  CHECK_EQ(s.general_tier_flag, true);
  CHECK_EQ(s.general_profile_idc, 2);
  CHECK_EQ(s.general_profile_compatibility_flags, 0x20000000u);
  CHECK_EQ(s.general_constraint_indicator_flags, 0x900000000000u);
  CHECK_EQ(s.general_level_idc, 120);
  CHECK_EQ(s.chroma_format_idc, 1);
  CHECK_EQ(s.width, 1920u);
  CHECK_EQ(s.height, 1080u);
  CHECK_EQ(s.bit_depth_luma, 10);
  CHECK_EQ(s.bit_depth_chroma, 10);
}

TEST_CASE(crops_444_in_luma_units) {
  const auto r = parse_h265_sps(kSps444, 0);
  CHECK(r.ok());
  CHECK_EQ(r->seq_parameter_set_id, 3);
  CHECK_EQ(r->chroma_format_idc, 3);
  CHECK_EQ(r->separate_colour_plane, false);
  CHECK_EQ(r->width, 1276u);
  CHECK_EQ(r->height, 720u);
  CHECK_EQ(r->general_constraint_indicator_flags, 0x9e0800000000u);
}

TEST_CASE(finds_the_sps_in_any_array) {
  // One array, the SPS only, with a 2-byte NAL length.
  const auto record = cat({
      check::bytes({0x01, 0x22, 0x20, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78,
                    0xf0, 0x00, 0xfc, 0xfd, 0xfa, 0xfa, 0x00, 0x00,
                    0x0d,    // lengthSizeMinusOne 1
                    0x01,    // numOfArrays 1
                    0x21}),  // array_completeness 0, NAL_unit_type 33
      u16(1), u16(kSpsSubLayers.size()), kSpsSubLayers,
  });
  const auto r = parse_hevc_decoder_configuration(record, 0);
  CHECK(r.ok());
  CHECK_EQ(r->nal_length_size, 2);
  CHECK_EQ(r->bit_depth_luma, 10);
  CHECK_EQ(r->arrays[0].array_completeness, false);
  CHECK_EQ(r->height, 1080u);
  CHECK_EQ(hevc_codec_string(r.value()), std::string("hvc1.2.4.H120.90"));
}

TEST_CASE(codec_strings_follow_annex_e) {
  HevcConfig c;
  c.general_profile_idc = 1;
  c.general_profile_compatibility_flags = 0x60000000;
  c.general_level_idc = 93;
  c.general_constraint_indicator_flags = 0xb00000000000;
  CHECK_EQ(hevc_codec_string(c), std::string("hvc1.1.6.L93.B0"));  // the Annex E example
  c.general_profile_space = 1;
  c.general_profile_idc = 4;
  c.general_profile_compatibility_flags = 0x08000000;
  c.general_constraint_indicator_flags = 0x9e0800000000;
  CHECK_EQ(hevc_codec_string(c), std::string("hvc1.A4.10.L93.9E.8"));
  c.general_profile_space = 0;
  c.general_tier_flag = true;
  c.general_constraint_indicator_flags = 0x000000000001;  // a set flag in the last byte
  CHECK_EQ(hevc_codec_string(c), std::string("hvc1.4.10.H93.0.0.0.0.0.1"));
}

TEST_CASE(rejects_malformed_records) {
  check_error(error_of(parse_hevc_decoder_configuration({}, 700)), 700, "hvcC truncated");
  auto record = hvcc_640x360();
  record[0] = std::byte{0x00};
  check_error(error_of(parse_hevc_decoder_configuration(record, 700)), 700, "hvcC configurationVersion is not 1");
  record = hvcc_640x360();
  record[21] = std::byte{0x0e};  // lengthSizeMinusOne 2
  check_error(error_of(parse_hevc_decoder_configuration(record, 700)), 721, "hvcC lengthSizeMinusOne is 2");
  record = hvcc_640x360();
  record[63] = std::byte{0xa7};  // the SPS array says NAL_unit_type 39
  check_error(error_of(parse_hevc_decoder_configuration(record, 700)), 722, "hvcC has no SPS");
  record = hvcc_640x360();
  record[66] = std::byte{0x01};  // nalUnitLength 299, past the end
  check_error(error_of(parse_hevc_decoder_configuration(record, 700)), 768, "hvcC truncated");
  record = hvcc_640x360();
  record[68] = std::byte{0x40};  // the SPS is a VPS
  check_error(error_of(parse_hevc_decoder_configuration(record, 700)), 768, "NAL unit is not an H.265 SPS");
  record = hvcc_640x360();
  record[70] = std::byte{0x0f};  // sps_max_sub_layers_minus1 7
  check_error(error_of(parse_hevc_decoder_configuration(record, 700)), 768,
              "H.265 SPS: sps_max_sub_layers_minus1 out of range");
}

TEST_CASE(every_truncated_record_is_an_error) {
  const auto record = hvcc_640x360();
  for (std::size_t n = 0; n < record.size(); ++n) {
    const auto r = parse_hevc_decoder_configuration(ByteSpan(record).first(n), 0);
    CHECK(!r.ok());
    if (!r.ok()) CHECK(r.error().code == Errc::kInvalidCodecPrivate);
  }
}

TEST_CASE(a_truncated_sps_is_an_error_or_reads_the_same_fields) {
  for (const auto* sps : {&kSps640x360, &kSpsSubLayers, &kSps444}) {
    const H265Sps whole = parse_h265_sps(*sps, 0).value();
    for (std::size_t n = 0; n < sps->size(); ++n) {
      const auto r = parse_h265_sps(ByteSpan(*sps).first(n), 55);
      if (r.ok()) {  // parsing stops after the bit depths: a cut after them still parses
        CHECK_EQ(r->width, whole.width);
        CHECK_EQ(r->height, whole.height);
        CHECK_EQ(r->bit_depth_chroma, whole.bit_depth_chroma);
      } else {
        CHECK(r.error().code == Errc::kInvalidCodecPrivate);
        CHECK_EQ(r.error().offset, 55u);  // errors inside an SPS point at its NAL header
      }
    }
  }
  check_error(error_of(parse_h265_sps(ByteSpan(kSps640x360).first(1), 4)), 4,
              "H.265 SPS is shorter than its NAL header");
  check_error(error_of(parse_h265_sps(ByteSpan(kSps640x360).first(20), 4)), 4, "H.265 SPS: bitstream ended early");
}

TEST_CASE(rejects_a_window_larger_than_the_picture) {
  // Main, level 93; sps_id 0, chroma_format_idc 1, 16x16, conf_win_left_offset 8 (SubWidthC 2:
  // 16 columns cropped of 16), other offsets 0, bit depths 8.
  const auto sps = check::bytes({
      0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
      0x03, 0x00, 0x5d,  // profile_tier_level
      0xa0, 0x88, 0x46, 0x27, 0xf0,
  });
  check_error(error_of(parse_h265_sps(sps, 8)), 8, "H.265 SPS: conformance window exceeds picture size");
}

TEST_CASE(survives_corrupted_records) {
  const auto original = hvcc_640x360();
  for (std::size_t i = 0; i < original.size(); ++i) {
    for (const int mask : {0x01, 0x80, 0xff}) {
      auto record = original;
      record[i] ^= std::byte(mask);
      const auto r = parse_hevc_decoder_configuration(record, 0);
      if (!r.ok()) CHECK(r.error().code == Errc::kInvalidCodecPrivate);
    }
  }
}

TEST_MAIN()
