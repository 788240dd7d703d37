// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/h264.h"

#include <array>
#include <cstdio>
#include <utility>

#include "kvsmux/codec/bitreader.h"

namespace kvsmux::codec {
namespace {

constexpr int kNalUnitTypeSps = 7;
constexpr std::uint8_t kExtendedSar = 255;
constexpr std::uint32_t kMaxSeqParameterSetId = 31;
constexpr std::uint32_t kMaxLog2Minus4 = 12;  // log2_max_frame_num / log2_max_pic_order_cnt_lsb
constexpr std::uint32_t kMaxRefFramesInPocCycle = 255;
constexpr std::uint32_t kMaxBitDepthMinus8 = 6;

// ITU-T H.264 Table E-1: the sample aspect ratio of aspect_ratio_idc 0..16 (0 is unspecified).
constexpr std::array<std::array<std::uint32_t, 2>, 17> kSampleAspectRatios = {{
    {0, 0}, {1, 1}, {12, 11}, {10, 11}, {16, 11}, {40, 33}, {24, 11}, {20, 11}, {32, 11},
    {80, 33}, {18, 11}, {15, 11}, {64, 33}, {160, 99}, {4, 3}, {3, 2}, {2, 1},
}};

Error invalid(std::uint64_t offset, std::string detail) {
  return make_error(Errc::kInvalidCodecPrivate, offset, std::move(detail));
}

// ITU-T H.264 §7.3.2.1.1: the profiles whose SPS carries chroma_format_idc and bit depths.
bool has_chroma_info(std::uint8_t profile_idc) {
  switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

// ITU-T H.264 §7.3.2.1.1.1 scaling_list(): walked to stay in step, the values are not kept.
Status skip_scaling_list(BitReader& bits, int size) {
  int last_scale = 8;
  int next_scale = 8;
  for (int j = 0; j < size; ++j) {
    if (next_scale != 0) {
      KVSMUX_TRY(const std::int32_t delta_scale, bits.se());
      if (delta_scale < -128 || delta_scale > 127) return invalid(bits.byte_offset(), "delta_scale out of range");
      next_scale = (last_scale + delta_scale + 256) % 256;
    }
    if (next_scale != 0) last_scale = next_scale;
  }
  return Ok{};
}

// ITU-T H.264 §7.3.2.1.1: chroma_format_idc .. seq_scaling_matrix_present_flag (High profiles).
Status parse_chroma_info(BitReader& bits, H264Sps& sps) {
  KVSMUX_TRY(const std::uint32_t chroma_format_idc, bits.ue());
  if (chroma_format_idc > 3) return invalid(bits.byte_offset(), "chroma_format_idc out of range");
  sps.chroma_format_idc = static_cast<std::uint8_t>(chroma_format_idc);
  if (chroma_format_idc == 3) {
    KVSMUX_TRY(sps.separate_colour_plane, bits.flag());
  }
  KVSMUX_TRY(const std::uint32_t luma_minus8, bits.ue());
  KVSMUX_TRY(const std::uint32_t chroma_minus8, bits.ue());
  if (luma_minus8 > kMaxBitDepthMinus8 || chroma_minus8 > kMaxBitDepthMinus8)
    return invalid(bits.byte_offset(), "bit depth out of range");
  sps.bit_depth_luma = static_cast<std::uint8_t>(8 + luma_minus8);
  sps.bit_depth_chroma = static_cast<std::uint8_t>(8 + chroma_minus8);
  KVSMUX_CHECK(bits.skip(1));  // qpprime_y_zero_transform_bypass_flag
  KVSMUX_TRY(const bool scaling_matrix_present, bits.flag());
  if (!scaling_matrix_present) return Ok{};
  const int list_count = (chroma_format_idc != 3) ? 8 : 12;
  for (int i = 0; i < list_count; ++i) {
    KVSMUX_TRY(const bool list_present, bits.flag());
    if (list_present) KVSMUX_CHECK(skip_scaling_list(bits, i < 6 ? 16 : 64));
  }
  return Ok{};
}

// ITU-T H.264 §7.3.2.1.1: pic_order_cnt_type and the fields each type adds.
Status skip_pic_order_cnt(BitReader& bits) {
  KVSMUX_TRY(const std::uint32_t type, bits.ue());
  if (type > 2) return invalid(bits.byte_offset(), "pic_order_cnt_type out of range");
  if (type == 0) {
    KVSMUX_TRY(const std::uint32_t log2_max_lsb_minus4, bits.ue());
    if (log2_max_lsb_minus4 > kMaxLog2Minus4)
      return invalid(bits.byte_offset(), "log2_max_pic_order_cnt_lsb_minus4 out of range");
  } else if (type == 1) {
    KVSMUX_CHECK(bits.skip(1));  // delta_pic_order_always_zero_flag
    KVSMUX_CHECK(bits.se());     // offset_for_non_ref_pic
    KVSMUX_CHECK(bits.se());     // offset_for_top_to_bottom_field
    KVSMUX_TRY(const std::uint32_t cycle_length, bits.ue());
    if (cycle_length > kMaxRefFramesInPocCycle)
      return invalid(bits.byte_offset(), "num_ref_frames_in_pic_order_cnt_cycle out of range");
    for (std::uint32_t i = 0; i < cycle_length; ++i) KVSMUX_CHECK(bits.se());  // offset_for_ref_frame
  }
  return Ok{};
}

// ITU-T H.264 §7.4.2.1.1: frame_crop_*_offset count in CropUnitX/CropUnitY, and without
// frame_mbs_only_flag a map unit is two macroblock rows high (FrameHeightInMbs).
Status set_cropped_size(H264Sps& sps, std::uint32_t width_mbs_minus1, std::uint32_t height_map_units_minus1,
                        const std::array<std::uint32_t, 4>& crop, std::uint64_t error_offset) {
  const std::uint64_t field_factor = sps.frame_mbs_only ? 1 : 2;
  const int chroma_array_type = sps.separate_colour_plane ? 0 : sps.chroma_format_idc;
  std::uint64_t crop_unit_x = 1;
  std::uint64_t crop_unit_y = field_factor;
  if (chroma_array_type != 0) {
    crop_unit_x = (chroma_array_type == 3) ? 1 : 2;                   // SubWidthC
    crop_unit_y = ((chroma_array_type == 1) ? 2 : 1) * field_factor;  // SubHeightC
  }
  const std::uint64_t coded_width = (std::uint64_t{width_mbs_minus1} + 1) * 16;
  const std::uint64_t coded_height = (std::uint64_t{height_map_units_minus1} + 1) * 16 * field_factor;
  const std::uint64_t crop_x = crop_unit_x * (std::uint64_t{crop[0]} + crop[1]);
  const std::uint64_t crop_y = crop_unit_y * (std::uint64_t{crop[2]} + crop[3]);
  if (crop_x >= coded_width || crop_y >= coded_height)
    return invalid(error_offset, "frame cropping exceeds picture size");
  if (coded_width - crop_x > kMaxPictureDimension || coded_height - crop_y > kMaxPictureDimension)
    return invalid(error_offset, "picture size out of range");
  sps.width = static_cast<std::uint32_t>(coded_width - crop_x);
  sps.height = static_cast<std::uint32_t>(coded_height - crop_y);
  return Ok{};
}

// ITU-T H.264 §E.1.1 vui_parameters(), up to the timing info.
Status parse_vui(BitReader& bits, H264Sps& sps) {
  KVSMUX_TRY(const bool aspect_ratio_info_present, bits.flag());
  if (aspect_ratio_info_present) {
    KVSMUX_TRY(const std::uint8_t aspect_ratio_idc, bits.byte());
    if (aspect_ratio_idc == kExtendedSar) {
      KVSMUX_TRY(sps.sar_num, bits.u(16));
      KVSMUX_TRY(sps.sar_den, bits.u(16));
    } else if (aspect_ratio_idc < kSampleAspectRatios.size()) {  // 17..254 are reserved: 0/0
      sps.sar_num = kSampleAspectRatios[aspect_ratio_idc][0];
      sps.sar_den = kSampleAspectRatios[aspect_ratio_idc][1];
    }
  }
  KVSMUX_TRY(const bool overscan_info_present, bits.flag());
  if (overscan_info_present) KVSMUX_CHECK(bits.skip(1));  // overscan_appropriate_flag
  KVSMUX_TRY(const bool video_signal_type_present, bits.flag());
  if (video_signal_type_present) {
    KVSMUX_CHECK(bits.skip(4));  // video_format, video_full_range_flag
    KVSMUX_TRY(const bool colour_description_present, bits.flag());
    if (colour_description_present) KVSMUX_CHECK(bits.skip(24));  // primaries, transfer, matrix
  }
  KVSMUX_TRY(const bool chroma_loc_info_present, bits.flag());
  if (chroma_loc_info_present) {
    KVSMUX_CHECK(bits.ue());  // chroma_sample_loc_type_top_field
    KVSMUX_CHECK(bits.ue());  // chroma_sample_loc_type_bottom_field
  }
  KVSMUX_TRY(const bool timing_info_present, bits.flag());
  if (timing_info_present) {
    KVSMUX_TRY(sps.timing_num_units_in_tick, bits.u(32));
    KVSMUX_TRY(sps.timing_time_scale, bits.u(32));
    KVSMUX_TRY(sps.fixed_frame_rate, bits.flag());
  }
  return Ok{};
}

// ITU-T H.264 §7.3.2.1.1 seq_parameter_set_data().
Result<H264Sps> parse_sps_rbsp(BitReader& bits) {
  H264Sps sps;
  KVSMUX_TRY(sps.profile_idc, bits.byte());
  KVSMUX_TRY(sps.constraint_flags, bits.byte());
  KVSMUX_TRY(sps.level_idc, bits.byte());
  KVSMUX_TRY(const std::uint32_t sps_id, bits.ue());
  if (sps_id > kMaxSeqParameterSetId) return invalid(bits.byte_offset(), "seq_parameter_set_id out of range");
  sps.seq_parameter_set_id = static_cast<std::uint8_t>(sps_id);
  if (has_chroma_info(sps.profile_idc)) KVSMUX_CHECK(parse_chroma_info(bits, sps));
  KVSMUX_TRY(const std::uint32_t log2_max_frame_num_minus4, bits.ue());
  if (log2_max_frame_num_minus4 > kMaxLog2Minus4)
    return invalid(bits.byte_offset(), "log2_max_frame_num_minus4 out of range");
  KVSMUX_CHECK(skip_pic_order_cnt(bits));
  KVSMUX_CHECK(bits.ue());     // max_num_ref_frames
  KVSMUX_CHECK(bits.skip(1));  // gaps_in_frame_num_value_allowed_flag
  KVSMUX_TRY(const std::uint32_t width_mbs_minus1, bits.ue());
  KVSMUX_TRY(const std::uint32_t height_map_units_minus1, bits.ue());
  KVSMUX_TRY(sps.frame_mbs_only, bits.flag());
  if (!sps.frame_mbs_only) KVSMUX_CHECK(bits.skip(1));  // mb_adaptive_frame_field_flag
  KVSMUX_CHECK(bits.skip(1));                           // direct_8x8_inference_flag
  std::array<std::uint32_t, 4> crop{};                  // left, right, top, bottom
  KVSMUX_TRY(const bool frame_cropping, bits.flag());
  if (frame_cropping) {
    for (std::uint32_t& c : crop) {
      KVSMUX_TRY(c, bits.ue());
    }
  }
  KVSMUX_CHECK(set_cropped_size(sps, width_mbs_minus1, height_map_units_minus1, crop, bits.byte_offset()));
  KVSMUX_TRY(const bool vui_present, bits.flag());
  if (vui_present) KVSMUX_CHECK(parse_vui(bits, sps));
  return sps;
}

// ISO/IEC 14496-15 §5.3.3.1: a u8 count, then per NAL unit a u16 length and its bytes.
Result<std::vector<ByteRange>> read_nal_units(ByteReader& r, std::uint64_t base, std::uint32_t count) {
  std::vector<ByteRange> ranges;  // no reserve: count is at most 255
  for (std::uint32_t i = 0; i < count; ++i) {
    KVSMUX_TRY(const std::uint16_t size, invalid_if_truncated(r.u16(), "avcC truncated"));
    const std::uint64_t at = r.offset() - base;
    KVSMUX_CHECK(invalid_if_truncated(r.skip(size), "avcC truncated"));
    ranges.push_back(ByteRange{at, size});
  }
  return ranges;
}

}  // namespace

// ITU-T H.264 §7.3.1 nal_unit() carrying §7.3.2.1.1 seq_parameter_set_rbsp().
Result<H264Sps> parse_h264_sps(ByteSpan nal_unit, std::uint64_t offset) {
  if (nal_unit.empty()) return invalid(offset, "H.264 SPS is empty");
  if ((std::to_integer<int>(nal_unit[0]) & 0x1f) != kNalUnitTypeSps)
    return invalid(offset, "NAL unit is not an H.264 SPS");
  std::vector<std::byte> rbsp;
  remove_emulation_prevention(nal_unit.subspan(1), rbsp);
  BitReader bits(rbsp, offset);
  return with_context(parse_sps_rbsp(bits), "H.264 SPS: ", offset);
}

// ISO/IEC 14496-15 §5.3.3.1 AVCDecoderConfigurationRecord.
Result<AvcConfig> parse_avc_decoder_configuration(ByteSpan codec_private, std::uint64_t offset) {
  constexpr std::string_view kTruncated = "avcC truncated";
  ByteReader r(codec_private, offset);
  AvcConfig c;
  KVSMUX_TRY(c.configuration_version, invalid_if_truncated(r.u8(), kTruncated));
  if (c.configuration_version != 1) return invalid(offset, "avcC configurationVersion is not 1");
  KVSMUX_TRY(c.profile_idc, invalid_if_truncated(r.u8(), kTruncated));
  KVSMUX_TRY(c.constraint_flags, invalid_if_truncated(r.u8(), kTruncated));
  KVSMUX_TRY(c.level_idc, invalid_if_truncated(r.u8(), kTruncated));
  const std::uint64_t length_size_at = r.offset();
  KVSMUX_TRY(const std::uint8_t length_size_byte, invalid_if_truncated(r.u8(), kTruncated));
  c.nal_length_size = static_cast<std::uint8_t>((length_size_byte & 0x03) + 1);  // 6 reserved bits first
  if (c.nal_length_size == 3) return invalid(length_size_at, "avcC lengthSizeMinusOne is 2");
  const std::uint64_t sps_count_at = r.offset();
  KVSMUX_TRY(const std::uint8_t sps_count_byte, invalid_if_truncated(r.u8(), kTruncated));
  const std::uint32_t sps_count = sps_count_byte & 0x1f;  // 3 reserved bits first
  if (sps_count == 0) return invalid(sps_count_at, "avcC has no SPS");
  KVSMUX_TRY(c.sps, read_nal_units(r, offset, sps_count));
  KVSMUX_TRY(const std::uint8_t pps_count, invalid_if_truncated(r.u8(), kTruncated));
  KVSMUX_TRY(c.pps, read_nal_units(r, offset, pps_count));

  const ByteRange first = c.sps.front();
  KVSMUX_TRY(const H264Sps sps,
             parse_h264_sps(codec_private.subspan(first.offset, first.size), offset + first.offset));
  c.width = sps.width;
  c.height = sps.height;
  c.chroma_format_idc = sps.chroma_format_idc;
  c.bit_depth_luma = sps.bit_depth_luma;
  c.bit_depth_chroma = sps.bit_depth_chroma;
  c.sar_num = sps.sar_num;
  c.sar_den = sps.sar_den;
  c.timing_num_units_in_tick = sps.timing_num_units_in_tick;
  c.timing_time_scale = sps.timing_time_scale;
  c.fixed_frame_rate = sps.fixed_frame_rate;
  return c;
}

std::string avc_codec_string(const AvcConfig& config) {
  char text[16];
  std::snprintf(text, sizeof text, "avc1.%02x%02x%02x", config.profile_idc, config.constraint_flags,
                config.level_idc);
  return text;
}

}  // namespace kvsmux::codec
