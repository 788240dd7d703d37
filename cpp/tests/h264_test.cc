// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/h264.h"

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

// The SPS of ../shared/media/kvs-producer-c/h264SampleFrames/frame-001.h264 (x264, High,
// 640x480, 25 fps; ffprobe -show_streams: profile High, level 30, sample_aspect_ratio 1:1).
const std::vector<std::byte> kSps640x480 = check::bytes({
    0x67,              // forbidden_zero_bit 0, nal_ref_idc 3, nal_unit_type 7 (SPS)
    0x64, 0x00, 0x1e,  // profile_idc 100 (High), constraint flags 0, level_idc 30
    0xac, 0xb2, 0x01, 0x40, 0x7b, 0x60, 0x2d, 0x41, 0x80, 0x41, 0x50,  // sps_id .. VUI, bit-packed
    0x00, 0x00, 0x03,              // RBSP 00 00, then an emulation_prevention_three_byte
    0x00, 0x10, 0x00, 0x00, 0x03,  // RBSP 00 10 00 00, then another one
    0x03, 0x28, 0xf1, 0x62, 0xe4, 0x80,  // timing 1/50 ends in here; rbsp_stop_one_bit in 0x80
});

// The SPS of ../shared/media/kvs-producer-embedded-c/h264_annexb/frame-001.h264 (x264, High,
// 1920x1080 coded as 1088 rows with frame_crop_bottom_offset 4; ffprobe: 1920x1080, level 40,
// r_frame_rate 30000/1001).
const std::vector<std::byte> kSps1920x1080 = check::bytes({
    0x67,              // nal_unit_type 7 (SPS)
    0x64, 0x00, 0x28,  // profile_idc 100 (High), constraint flags 0, level_idc 40
    0xac, 0xb2, 0x00, 0xf0, 0x04, 0x4f, 0xcb, 0x80, 0xb5, 0x01, 0x01, 0x01, 0x40,
    0x00, 0x00, 0xfa, 0x40, 0x00, 0x3a, 0x98, 0x23, 0xc6, 0x0c, 0x92,
});

// Hand-made (and read back with ffmpeg's trace_headers): Constrained Baseline, field coded,
// pic_order_cnt_type 1, Extended_SAR, cropping, timing.
//   profile_idc 66, constraint_set0+1 (0xc0), level_idc 30, seq_parameter_set_id 1,
//   log2_max_frame_num_minus4 0, pic_order_cnt_type 1: delta_pic_order_always_zero 0,
//   offset_for_non_ref_pic -1, offset_for_top_to_bottom_field 2, cycle of 2: +1, -3,
//   max_num_ref_frames 1, pic_width_in_mbs_minus1 44 (720), pic_height_in_map_units_minus1 17
//   (18 field MB rows = 576 lines), frame_mbs_only 0, mb_adaptive 1, direct_8x8 1,
//   crop left 0 right 4 top 1 bottom 2 (CropUnitX 2, CropUnitY 4: 712x564),
//   VUI: aspect_ratio_idc 255 sar 64:45, video_signal_type with colour description,
//   chroma_loc 0/0, timing 1001/60000, fixed_frame_rate 0.
const std::vector<std::byte> kSpsBaselineFields = check::bytes({
    0x67, 0x42, 0xc0, 0x1e, 0x54, 0x64, 0x68, 0xe8, 0x0b, 0x42, 0x4f, 0x2a, 0x7f, 0xf8, 0x02, 0x00,
    0x01, 0x6b, 0x50, 0x10, 0x10, 0x1f,
    0x00, 0x00, 0x03,  // emulation prevention inside num_units_in_tick (0x000003e9)
    0x03, 0xe9, 0x00, 0x00, 0xea, 0x60, 0x04,
});

// Hand-made (read back with trace_headers): High 4:4:4 Predictive, separate colour planes.
//   profile_idc 244, level_idc 51, chroma_format_idc 3, separate_colour_plane_flag 1,
//   bit depths 10/10, seq_scaling_matrix_present: list 0 delta -8 (use default), list 6 with
//   64 deltas of +1, list 7 deltas +5 then -13 (next_scale 0 ends it early),
//   log2_max_frame_num_minus4 4, pic_order_cnt_type 0 with lsb_minus4 2, 120x68 MBs,
//   crop bottom 8 (ChromaArrayType 0: CropUnitY 1, so 1088 - 8 = 1080),
//   VUI: aspect_ratio_idc 2 (12:11), overscan_appropriate 1, no timing.
const std::vector<std::byte> kSpsHigh444 = check::bytes({
    0x67, 0xf4, 0x00, 0x33, 0x92, 0xdb, 0x08, 0x82, 0x92, 0x49, 0x24, 0x92, 0x49, 0x24, 0x92,
    0x49, 0x24, 0x92, 0x49, 0x24, 0x92, 0x49, 0x24, 0x92, 0x49, 0x24, 0x92, 0x49, 0x24, 0x92,
    0x49, 0x25, 0x14, 0x1b, 0x02, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe2, 0x70, 0x2c, 0x04,
});

// Hand-made (read back with trace_headers): High 4:2:2, pic_order_cnt_type 2, 40x30 MBs,
// crop left 1 top 1 bottom 3 (CropUnitX 2, CropUnitY 1: 638x476), no VUI.
const std::vector<std::byte> kSpsHigh422 = check::bytes({
    0x67, 0x7a, 0x00, 0x28, 0xbc, 0xb4, 0x05, 0x01, 0xee, 0xa8, 0x88,
});

std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// avcC around kSps640x480 and the PPS that follows it in the same file.
std::vector<std::byte> avcc_640x480() {
  return cat({
      check::bytes({
          0x01,              // configurationVersion 1
          0x64, 0x00, 0x1e,  // AVCProfileIndication 100, profile_compatibility 0, AVCLevelIndication 30
          0xff,              // reserved '111111', lengthSizeMinusOne 3
          0xe1,              // reserved '111', numOfSequenceParameterSets 1
          0x00, 0x1d,        // sequenceParameterSetLength 29
      }),
      kSps640x480,  // at 8
      check::bytes({
          0x01,                          // numOfPictureParameterSets 1
          0x00, 0x05,                    // pictureParameterSetLength 5
          0x68, 0xeb, 0xcc, 0xb2, 0x2c,  // PPS, at 40
      }),
  });
}

Error error_of(const Result<AvcConfig>& r) { return r.ok() ? Error{} : r.error(); }
Error error_of(const Result<H264Sps>& r) { return r.ok() ? Error{} : r.error(); }

bool same(const H264Sps& a, const H264Sps& b) {
  return a.profile_idc == b.profile_idc && a.constraint_flags == b.constraint_flags && a.level_idc == b.level_idc &&
         a.seq_parameter_set_id == b.seq_parameter_set_id && a.chroma_format_idc == b.chroma_format_idc &&
         a.separate_colour_plane == b.separate_colour_plane && a.bit_depth_luma == b.bit_depth_luma &&
         a.bit_depth_chroma == b.bit_depth_chroma && a.frame_mbs_only == b.frame_mbs_only && a.width == b.width &&
         a.height == b.height && a.sar_num == b.sar_num && a.sar_den == b.sar_den &&
         a.timing_num_units_in_tick == b.timing_num_units_in_tick &&
         a.timing_time_scale == b.timing_time_scale && a.fixed_frame_rate == b.fixed_frame_rate;
}

void check_error(const Error& e, std::uint64_t offset, const char* detail) {
  CHECK(e.code == Errc::kInvalidCodecPrivate);
  CHECK_EQ(e.offset, offset);
  CHECK_EQ(e.detail, std::string(detail));
}

}  // namespace

TEST_CASE(parses_avcc_from_kvs_producer_c) {
  const auto record = avcc_640x480();
  const auto r = parse_avc_decoder_configuration(record, 1000);
  CHECK(r.ok());
  const AvcConfig& c = r.value();
  CHECK_EQ(c.configuration_version, 1);
  CHECK_EQ(c.profile_idc, 100);
  CHECK_EQ(c.constraint_flags, 0);
  CHECK_EQ(c.level_idc, 30);
  CHECK_EQ(c.nal_length_size, 4);
  CHECK((c.sps == std::vector<ByteRange>{{8, 29}}));  // relative to the record, not to 1000
  CHECK((c.pps == std::vector<ByteRange>{{40, 5}}));
  CHECK_EQ(c.width, 640u);
  CHECK_EQ(c.height, 480u);
  CHECK_EQ(c.chroma_format_idc, 1);
  CHECK_EQ(c.bit_depth_luma, 8);
  CHECK_EQ(c.bit_depth_chroma, 8);
  CHECK_EQ(c.sar_num, 1u);
  CHECK_EQ(c.sar_den, 1u);
  CHECK_EQ(c.timing_num_units_in_tick, 1u);  // two ticks per frame: 50 / (2 * 1) = 25 fps
  CHECK_EQ(c.timing_time_scale, 50u);
  CHECK_EQ(c.fixed_frame_rate, true);
  CHECK_EQ(avc_codec_string(c), std::string("avc1.64001e"));
}

TEST_CASE(crops_1088_coded_rows_to_1080) {
  const auto r = parse_h264_sps(kSps1920x1080, 0);
  CHECK(r.ok());
  CHECK_EQ(r->width, 1920u);
  CHECK_EQ(r->height, 1080u);
  CHECK_EQ(r->level_idc, 40);
  CHECK_EQ(r->timing_num_units_in_tick, 1001u);
  CHECK_EQ(r->timing_time_scale, 60000u);
}

TEST_CASE(parses_field_coded_baseline_with_poc_type_1) {
  const auto r = parse_h264_sps(kSpsBaselineFields, 0);
  CHECK(r.ok());
  const H264Sps& s = r.value();
  CHECK_EQ(s.profile_idc, 66);
  CHECK_EQ(s.constraint_flags, 0xc0);
  CHECK_EQ(s.seq_parameter_set_id, 1);
  CHECK_EQ(s.chroma_format_idc, 1);  // implied for Baseline
  CHECK_EQ(s.frame_mbs_only, false);
  CHECK_EQ(s.width, 712u);
  CHECK_EQ(s.height, 564u);
  CHECK_EQ(s.sar_num, 64u);
  CHECK_EQ(s.sar_den, 45u);
  CHECK_EQ(s.timing_num_units_in_tick, 1001u);
  CHECK_EQ(s.timing_time_scale, 60000u);
  CHECK_EQ(s.fixed_frame_rate, false);
}

TEST_CASE(parses_high_444_with_scaling_lists_and_separate_planes) {
  const auto r = parse_h264_sps(kSpsHigh444, 0);
  CHECK(r.ok());
  const H264Sps& s = r.value();
  CHECK_EQ(s.profile_idc, 244);
  CHECK_EQ(s.level_idc, 51);
  CHECK_EQ(s.chroma_format_idc, 3);
  CHECK_EQ(s.separate_colour_plane, true);
  CHECK_EQ(s.bit_depth_luma, 10);
  CHECK_EQ(s.bit_depth_chroma, 10);
  CHECK_EQ(s.width, 1920u);
  CHECK_EQ(s.height, 1080u);
  CHECK_EQ(s.sar_num, 12u);
  CHECK_EQ(s.sar_den, 11u);
  CHECK_EQ(s.timing_time_scale, 0u);
}

TEST_CASE(crops_422_in_chroma_units) {
  const auto r = parse_h264_sps(kSpsHigh422, 0);
  CHECK(r.ok());
  CHECK_EQ(r->chroma_format_idc, 2);
  CHECK_EQ(r->width, 638u);
  CHECK_EQ(r->height, 476u);
  CHECK_EQ(r->sar_num, 0u);  // no VUI
  CHECK_EQ(r->sar_den, 0u);
}

TEST_CASE(ignores_the_high_profile_extension_after_the_pps) {
  auto record = avcc_640x480();
  for (const int b : {0xfd, 0xf8, 0xf8, 0x00}) record.push_back(std::byte(b));  // 4:2:0, 8 bit, 0 SPSExt
  const auto r = parse_avc_decoder_configuration(record, 0);
  CHECK(r.ok());
  CHECK_EQ(r->width, 640u);
}

TEST_CASE(codec_string_is_lowercase_hex) {
  AvcConfig c;
  c.profile_idc = 66;
  c.constraint_flags = 0xc0;
  c.level_idc = 30;
  CHECK_EQ(avc_codec_string(c), std::string("avc1.42c01e"));
  c.profile_idc = 100;
  c.constraint_flags = 0;
  c.level_idc = 31;
  CHECK_EQ(avc_codec_string(c), std::string("avc1.64001f"));
}

TEST_CASE(rejects_malformed_records) {
  check_error(error_of(parse_avc_decoder_configuration({}, 500)), 500, "avcC truncated");
  auto record = avcc_640x480();
  record[0] = std::byte{0x00};
  check_error(error_of(parse_avc_decoder_configuration(record, 500)), 500, "avcC configurationVersion is not 1");
  record = avcc_640x480();
  record[4] = std::byte{0xfe};  // lengthSizeMinusOne 2
  check_error(error_of(parse_avc_decoder_configuration(record, 500)), 504, "avcC lengthSizeMinusOne is 2");
  record = avcc_640x480();
  record[5] = std::byte{0xe0};  // numOfSequenceParameterSets 0
  check_error(error_of(parse_avc_decoder_configuration(record, 500)), 505, "avcC has no SPS");
  record = avcc_640x480();
  record[7] = std::byte{0x40};  // sequenceParameterSetLength 64, past the end
  check_error(error_of(parse_avc_decoder_configuration(record, 500)), 508, "avcC truncated");
  record = avcc_640x480();
  record[8] = std::byte{0x68};  // the "SPS" is a PPS
  check_error(error_of(parse_avc_decoder_configuration(record, 500)), 508, "NAL unit is not an H.264 SPS");
}

TEST_CASE(every_truncated_record_is_an_error) {
  const auto record = avcc_640x480();
  for (std::size_t n = 0; n < record.size(); ++n) {
    const auto r = parse_avc_decoder_configuration(ByteSpan(record).first(n), 0);
    CHECK(!r.ok());
    if (!r.ok()) CHECK(r.error().code == Errc::kInvalidCodecPrivate);
  }
}

TEST_CASE(a_truncated_sps_is_an_error_or_reads_the_same_fields) {
  // Parsing stops after the VUI timing info, so a cut in the bits after it still parses; any
  // prefix that parses must say exactly what the whole SPS says.
  for (const auto* sps : {&kSps640x480, &kSps1920x1080, &kSpsBaselineFields, &kSpsHigh444, &kSpsHigh422}) {
    const H264Sps whole = parse_h264_sps(*sps, 0).value();
    for (std::size_t n = 0; n < sps->size(); ++n) {
      const auto r = parse_h264_sps(ByteSpan(*sps).first(n), 77);
      if (r.ok()) {
        CHECK(same(r.value(), whole));
      } else {
        CHECK(r.error().code == Errc::kInvalidCodecPrivate);
        CHECK_EQ(r.error().offset, 77u);  // errors inside an SPS point at its NAL header
      }
    }
  }
  check_error(error_of(parse_h264_sps(ByteSpan(kSps640x480).first(12), 9)), 9, "H.264 SPS: bitstream ended early");
  check_error(error_of(parse_h264_sps({}, 9)), 9, "H.264 SPS is empty");
}

TEST_CASE(rejects_out_of_range_sps_fields) {
  // Baseline 66/0/30, then: ue sps_id 0 '1', ue log2_max_frame_num_minus4 0 '1',
  // ue pic_order_cnt_type 3 '00100', stop bit '1' -> 1100 1001.
  check_error(error_of(parse_h264_sps(check::bytes({0x67, 0x42, 0x00, 0x1e, 0xc9}), 3)), 3,
              "H.264 SPS: pic_order_cnt_type out of range");
  // ue seq_parameter_set_id 32 '00000100001', stop bit -> 0000 0100 0011 (0000).
  check_error(error_of(parse_h264_sps(check::bytes({0x67, 0x42, 0x00, 0x1e, 0x04, 0x30}), 3)), 3,
              "H.264 SPS: seq_parameter_set_id out of range");
  // High: sps_id 0 '1', ue chroma_format_idc 4 '00101' -> 1001 01(00).
  check_error(error_of(parse_h264_sps(check::bytes({0x67, 0x64, 0x00, 0x1e, 0x94}), 3)), 3,
              "H.264 SPS: chroma_format_idc out of range");
  // Baseline: '1' '1', pic_order_cnt_type 1 '010', always_zero '0', se 0 '1', se 0 '1',
  // ue num_ref_frames_in_pic_order_cnt_cycle 256 '00000000100000001' -> 1101 0011 0000 0000 1000 0000 1(000).
  check_error(error_of(parse_h264_sps(check::bytes({0x67, 0x42, 0x00, 0x1e, 0xd3, 0x00, 0x80, 0x80}), 3)), 3,
              "H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle out of range");
  // Baseline: sps_id '1', log2 '1', poc 2 '011', refs 0 '1', gaps '0', width_mbs_minus1 0 '1',
  // height 0 '1', frame_mbs_only '1', direct '1', cropping '1', left 8 '0001001', right/top/
  // bottom 0 '1' '1' '1', vui '0', stop '1' -> 1101 1101 1111 0001 0011 1101: 16 px wide, 16 cropped.
  check_error(error_of(parse_h264_sps(check::bytes({0x67, 0x42, 0x00, 0x1e, 0xdd, 0xf1, 0x3d}), 3)), 3,
              "H.264 SPS: frame cropping exceeds picture size");
}

TEST_CASE(survives_corrupted_records) {
  // Not a fuzzer, but every byte of the record flipped three ways must parse or fail cleanly.
  const auto original = avcc_640x480();
  for (std::size_t i = 0; i < original.size(); ++i) {
    for (const int mask : {0x01, 0x80, 0xff}) {
      auto record = original;
      record[i] ^= std::byte(mask);
      const auto r = parse_avc_decoder_configuration(record, 0);
      if (!r.ok()) CHECK(r.error().code == Errc::kInvalidCodecPrivate);
    }
  }
}

TEST_MAIN()
