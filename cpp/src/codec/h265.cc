// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/h265.h"

#include <array>
#include <cstdio>
#include <utility>

#include "kvsmux/codec/bitreader.h"

namespace kvsmux::codec {
namespace {

constexpr int kNalUnitTypeSps = 33;
constexpr std::uint32_t kMaxSubLayersMinus1 = 6;
constexpr std::uint32_t kMaxSeqParameterSetId = 15;
constexpr std::uint32_t kMaxBitDepthMinus8 = 8;
constexpr std::string_view kTruncated = "hvcC truncated";

Error invalid(std::uint64_t offset, std::string detail) {
  return make_error(Errc::kInvalidCodecPrivate, offset, std::move(detail));
}

// ITU-T H.265 §7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1): the general part is
// kept, the sub-layer parts are skipped (88 profile bits and 8 level bits each).
Status parse_profile_tier_level(BitReader& bits, H265Sps& sps) {
  KVSMUX_TRY(const std::uint32_t space, bits.u(2));
  sps.general_profile_space = static_cast<std::uint8_t>(space);
  KVSMUX_TRY(sps.general_tier_flag, bits.flag());
  KVSMUX_TRY(const std::uint32_t profile_idc, bits.u(5));
  sps.general_profile_idc = static_cast<std::uint8_t>(profile_idc);
  KVSMUX_TRY(sps.general_profile_compatibility_flags, bits.u(32));
  KVSMUX_TRY(const std::uint32_t constraint_high, bits.u(16));
  KVSMUX_TRY(const std::uint32_t constraint_low, bits.u(32));
  sps.general_constraint_indicator_flags = (std::uint64_t{constraint_high} << 32) | constraint_low;
  KVSMUX_TRY(sps.general_level_idc, bits.byte());

  const int sub_layers = sps.max_sub_layers - 1;
  bool profile_present[8] = {};
  bool level_present[8] = {};
  for (int i = 0; i < sub_layers; ++i) {
    KVSMUX_TRY(profile_present[i], bits.flag());
    KVSMUX_TRY(level_present[i], bits.flag());
  }
  if (sub_layers > 0) {
    KVSMUX_CHECK(bits.skip(static_cast<std::uint64_t>(2 * (8 - sub_layers))));  // reserved_zero_2bits
  }
  for (int i = 0; i < sub_layers; ++i) {
    if (profile_present[i]) KVSMUX_CHECK(bits.skip(88));
    if (level_present[i]) KVSMUX_CHECK(bits.skip(8));
  }
  return Ok{};
}

// ITU-T H.265 §7.4.3.2.1: conf_win_*_offset count in SubWidthC/SubHeightC (Table 6-1), which
// are 1 for monochrome, 4:4:4 and separate colour planes.
Status set_cropped_size(H265Sps& sps, std::uint32_t coded_width, std::uint32_t coded_height,
                        const std::array<std::uint32_t, 4>& window, std::uint64_t error_offset) {
  const int chroma_array_type = sps.separate_colour_plane ? 0 : sps.chroma_format_idc;
  const std::uint64_t sub_width = (chroma_array_type == 1 || chroma_array_type == 2) ? 2 : 1;
  const std::uint64_t sub_height = (chroma_array_type == 1) ? 2 : 1;
  const std::uint64_t crop_x = sub_width * (std::uint64_t{window[0]} + window[1]);
  const std::uint64_t crop_y = sub_height * (std::uint64_t{window[2]} + window[3]);
  if (crop_x >= coded_width || crop_y >= coded_height)
    return invalid(error_offset, "conformance window exceeds picture size");
  if (coded_width - crop_x > kMaxPictureDimension || coded_height - crop_y > kMaxPictureDimension)
    return invalid(error_offset, "picture size out of range");
  sps.width = static_cast<std::uint32_t>(coded_width - crop_x);
  sps.height = static_cast<std::uint32_t>(coded_height - crop_y);
  return Ok{};
}

// ITU-T H.265 §7.3.2.2.1 seq_parameter_set_rbsp(), up to bit_depth_chroma_minus8.
Result<H265Sps> parse_sps_rbsp(BitReader& bits) {
  H265Sps sps;
  KVSMUX_CHECK(bits.skip(4));  // sps_video_parameter_set_id
  KVSMUX_TRY(const std::uint32_t max_sub_layers_minus1, bits.u(3));
  if (max_sub_layers_minus1 > kMaxSubLayersMinus1)
    return invalid(bits.byte_offset(), "sps_max_sub_layers_minus1 out of range");
  sps.max_sub_layers = static_cast<std::uint8_t>(max_sub_layers_minus1 + 1);
  KVSMUX_CHECK(bits.skip(1));  // sps_temporal_id_nesting_flag
  KVSMUX_CHECK(parse_profile_tier_level(bits, sps));
  KVSMUX_TRY(const std::uint32_t sps_id, bits.ue());
  if (sps_id > kMaxSeqParameterSetId) return invalid(bits.byte_offset(), "sps_seq_parameter_set_id out of range");
  sps.seq_parameter_set_id = static_cast<std::uint8_t>(sps_id);
  KVSMUX_TRY(const std::uint32_t chroma_format_idc, bits.ue());
  if (chroma_format_idc > 3) return invalid(bits.byte_offset(), "chroma_format_idc out of range");
  sps.chroma_format_idc = static_cast<std::uint8_t>(chroma_format_idc);
  if (chroma_format_idc == 3) {
    KVSMUX_TRY(sps.separate_colour_plane, bits.flag());
  }
  KVSMUX_TRY(const std::uint32_t coded_width, bits.ue());   // pic_width_in_luma_samples
  KVSMUX_TRY(const std::uint32_t coded_height, bits.ue());  // pic_height_in_luma_samples
  std::array<std::uint32_t, 4> window{};                     // left, right, top, bottom
  KVSMUX_TRY(const bool conformance_window, bits.flag());
  if (conformance_window) {
    for (std::uint32_t& w : window) {
      KVSMUX_TRY(w, bits.ue());
    }
  }
  KVSMUX_CHECK(set_cropped_size(sps, coded_width, coded_height, window, bits.byte_offset()));
  KVSMUX_TRY(const std::uint32_t luma_minus8, bits.ue());
  KVSMUX_TRY(const std::uint32_t chroma_minus8, bits.ue());
  if (luma_minus8 > kMaxBitDepthMinus8 || chroma_minus8 > kMaxBitDepthMinus8)
    return invalid(bits.byte_offset(), "bit depth out of range");
  sps.bit_depth_luma = static_cast<std::uint8_t>(8 + luma_minus8);
  sps.bit_depth_chroma = static_cast<std::uint8_t>(8 + chroma_minus8);
  return sps;
}

// ISO/IEC 14496-15 §8.3.3.1: one array is a type byte, a u16 count, then per NAL unit a u16
// length and its bytes.
Result<HevcNalArray> read_nal_array(ByteReader& r, std::uint64_t base) {
  HevcNalArray array;
  KVSMUX_TRY(const std::uint8_t type_byte, invalid_if_truncated(r.u8(), kTruncated));
  array.array_completeness = (type_byte & 0x80) != 0;  // then 1 reserved bit
  array.nal_unit_type = type_byte & 0x3f;
  KVSMUX_TRY(const std::uint16_t count, invalid_if_truncated(r.u16(), kTruncated));
  for (std::uint32_t i = 0; i < count; ++i) {  // no reserve: each entry is proven by reading it
    KVSMUX_TRY(const std::uint16_t size, invalid_if_truncated(r.u16(), kTruncated));
    const std::uint64_t at = r.offset() - base;
    KVSMUX_CHECK(invalid_if_truncated(r.skip(size), kTruncated));
    array.nalus.push_back(ByteRange{at, size});
  }
  return array;
}

}  // namespace

// ITU-T H.265 §7.3.1.1 nal_unit() carrying §7.3.2.2.1 seq_parameter_set_rbsp().
Result<H265Sps> parse_h265_sps(ByteSpan nal_unit, std::uint64_t offset) {
  if (nal_unit.size() < 2) return invalid(offset, "H.265 SPS is shorter than its NAL header");
  if (((std::to_integer<int>(nal_unit[0]) >> 1) & 0x3f) != kNalUnitTypeSps)
    return invalid(offset, "NAL unit is not an H.265 SPS");
  std::vector<std::byte> rbsp;
  remove_emulation_prevention(nal_unit.subspan(2), rbsp);
  BitReader bits(rbsp, offset);
  return with_context(parse_sps_rbsp(bits), "H.265 SPS: ", offset);
}

// ISO/IEC 14496-15 §8.3.3.1 HEVCDecoderConfigurationRecord.
Result<HevcConfig> parse_hevc_decoder_configuration(ByteSpan codec_private, std::uint64_t offset) {
  ByteReader r(codec_private, offset);
  auto u8 = [&r] { return invalid_if_truncated(r.u8(), kTruncated); };
  HevcConfig c;
  KVSMUX_TRY(c.configuration_version, u8());
  if (c.configuration_version != 1) return invalid(offset, "hvcC configurationVersion is not 1");
  KVSMUX_TRY(const std::uint8_t profile_byte, u8());
  c.general_profile_space = static_cast<std::uint8_t>(profile_byte >> 6);
  c.general_tier_flag = (profile_byte & 0x20) != 0;
  c.general_profile_idc = profile_byte & 0x1f;
  KVSMUX_TRY(c.general_profile_compatibility_flags, invalid_if_truncated(r.u32(), kTruncated));
  KVSMUX_TRY(c.general_constraint_indicator_flags, invalid_if_truncated(r.uint_n(6), kTruncated));
  KVSMUX_TRY(c.general_level_idc, u8());
  // min_spatial_segmentation_idc (u16) and parallelismType (u8), each after reserved bits.
  KVSMUX_CHECK(invalid_if_truncated(r.skip(3), kTruncated));
  KVSMUX_TRY(const std::uint8_t chroma_byte, u8());
  c.chroma_format_idc = chroma_byte & 0x03;
  KVSMUX_TRY(const std::uint8_t luma_depth_byte, u8());
  c.bit_depth_luma = static_cast<std::uint8_t>((luma_depth_byte & 0x07) + 8);
  KVSMUX_TRY(const std::uint8_t chroma_depth_byte, u8());
  c.bit_depth_chroma = static_cast<std::uint8_t>((chroma_depth_byte & 0x07) + 8);
  KVSMUX_CHECK(invalid_if_truncated(r.skip(2), kTruncated));  // avgFrameRate
  const std::uint64_t length_size_at = r.offset();
  // constantFrameRate(2) numTemporalLayers(3) temporalIdNested(1) lengthSizeMinusOne(2)
  KVSMUX_TRY(const std::uint8_t length_size_byte, u8());
  c.nal_length_size = static_cast<std::uint8_t>((length_size_byte & 0x03) + 1);
  if (c.nal_length_size == 3) return invalid(length_size_at, "hvcC lengthSizeMinusOne is 2");
  const std::uint64_t array_count_at = r.offset();
  KVSMUX_TRY(const std::uint8_t array_count, u8());
  for (int i = 0; i < array_count; ++i) {
    KVSMUX_TRY(HevcNalArray array, read_nal_array(r, offset));
    c.arrays.push_back(std::move(array));
  }

  for (const HevcNalArray& array : c.arrays) {
    if (array.nal_unit_type != kNalUnitTypeSps || array.nalus.empty()) continue;
    const ByteRange first = array.nalus.front();
    KVSMUX_TRY(const H265Sps sps,
               parse_h265_sps(codec_private.subspan(first.offset, first.size), offset + first.offset));
    c.width = sps.width;
    c.height = sps.height;
    return c;
  }
  return invalid(array_count_at, "hvcC has no SPS");
}

std::string hevc_codec_string(const HevcConfig& config) {
  static constexpr const char* kProfileSpace[] = {"", "A", "B", "C"};
  std::uint32_t reversed = 0;
  for (int bit = 0; bit < 32; ++bit)
    reversed |= ((config.general_profile_compatibility_flags >> bit) & 1U) << (31 - bit);
  char text[64];
  std::snprintf(text, sizeof text, "hvc1.%s%u.%X.%c%u", kProfileSpace[config.general_profile_space & 3],
                unsigned{config.general_profile_idc}, reversed, config.general_tier_flag ? 'H' : 'L',
                unsigned{config.general_level_idc});
  std::string out = text;
  unsigned constraint_bytes[6];  // most significant first
  int last_nonzero = -1;
  for (int i = 0; i < 6; ++i) {
    constraint_bytes[i] = unsigned(config.general_constraint_indicator_flags >> (40 - 8 * i)) & 0xffU;
    if (constraint_bytes[i] != 0) last_nonzero = i;
  }
  for (int i = 0; i <= last_nonzero; ++i) {
    std::snprintf(text, sizeof text, ".%X", constraint_bytes[i]);
    out += text;
  }
  return out;
}

}  // namespace kvsmux::codec
