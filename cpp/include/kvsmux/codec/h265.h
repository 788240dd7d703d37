// SPDX-License-Identifier: Apache-2.0
// H.265/HEVC codec private: the HEVCDecoderConfigurationRecord and the sequence parameter set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvsmux/bytes.h"
#include "kvsmux/status.h"

namespace kvsmux::codec {

/// What an SPS says (ITU-T H.265 §7.3.2.2.1), up to the bit depths.
struct H265Sps {
  std::uint8_t max_sub_layers = 1;  // sps_max_sub_layers_minus1 + 1
  std::uint8_t general_profile_space = 0;
  bool general_tier_flag = false;
  std::uint8_t general_profile_idc = 0;
  std::uint32_t general_profile_compatibility_flags = 0;  // flag j is bit 31 - j
  std::uint64_t general_constraint_indicator_flags = 0;   // 48 bits, progressive_source first
  std::uint8_t general_level_idc = 0;
  std::uint8_t seq_parameter_set_id = 0;
  std::uint8_t chroma_format_idc = 0;
  bool separate_colour_plane = false;
  std::uint32_t width = 0;   // luma samples, after the conformance window
  std::uint32_t height = 0;  // luma samples, after the conformance window
  std::uint8_t bit_depth_luma = 0;
  std::uint8_t bit_depth_chroma = 0;
};

/// One array of the record: the NAL units of one type (VPS 32, SPS 33, PPS 34, SEI 39 ...).
struct HevcNalArray {
  std::uint8_t nal_unit_type = 0;
  bool array_completeness = false;
  std::vector<ByteRange> nalus;  // relative to codec_private[0]
};

/// The hvcC record, plus the picture size its first SPS gives.
struct HevcConfig {
  std::uint8_t configuration_version = 0;
  std::uint8_t general_profile_space = 0;
  bool general_tier_flag = false;
  std::uint8_t general_profile_idc = 0;
  std::uint32_t general_profile_compatibility_flags = 0;
  std::uint64_t general_constraint_indicator_flags = 0;  // 48 bits
  std::uint8_t general_level_idc = 0;
  std::uint8_t chroma_format_idc = 0;
  std::uint8_t bit_depth_luma = 0;
  std::uint8_t bit_depth_chroma = 0;
  std::uint8_t nal_length_size = 0;  // 1, 2 or 4
  std::vector<HevcNalArray> arrays;
  // From the first SPS:
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

/// Parses an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) and its first SPS
/// (the first NAL unit of the first array of type 33). `offset` is the absolute offset of
/// codec_private[0], for error reports. Errors are Errc::kInvalidCodecPrivate.
Result<HevcConfig> parse_hevc_decoder_configuration(ByteSpan codec_private, std::uint64_t offset);

/// Parses a sequence parameter set NAL unit, 2-byte NAL header included (nal_unit_type 33),
/// emulation-prevention bytes still in. Any error inside the RBSP is reported at `offset`,
/// the absolute offset of nal_unit[0]. Errors are Errc::kInvalidCodecPrivate.
Result<H265Sps> parse_h265_sps(ByteSpan nal_unit, std::uint64_t offset);

/// ISO/IEC 14496-15 Annex E codecs parameter, e.g. "hvc1.1.6.L93.B0": profile space letter
/// (none, A, B, C) and profile_idc, the compatibility flags bit-reversed in hex, tier letter
/// and level_idc, then the constraint bytes in hex with trailing zero bytes left out.
std::string hevc_codec_string(const HevcConfig& config);

}  // namespace kvsmux::codec
