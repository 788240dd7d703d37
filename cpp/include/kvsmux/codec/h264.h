// SPDX-License-Identifier: Apache-2.0
// H.264/AVC codec private: the AVCDecoderConfigurationRecord and the sequence parameter set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvsmux/bytes.h"
#include "kvsmux/status.h"

namespace kvsmux::codec {

/// What the first SPS says (ITU-T H.264 §7.3.2.1.1), up to the VUI timing info.
struct H264Sps {
  std::uint8_t profile_idc = 0;
  std::uint8_t constraint_flags = 0;  // constraint_set0..5 flags and reserved_zero_2bits
  std::uint8_t level_idc = 0;
  std::uint8_t seq_parameter_set_id = 0;
  std::uint8_t chroma_format_idc = 1;  // 1 (4:2:0) when the profile does not signal it
  bool separate_colour_plane = false;
  std::uint8_t bit_depth_luma = 8;
  std::uint8_t bit_depth_chroma = 8;
  bool frame_mbs_only = true;
  std::uint32_t width = 0;   // luma samples, after frame cropping
  std::uint32_t height = 0;  // luma samples, after frame cropping
  std::uint32_t sar_num = 0;  // 0/0 when the VUI gives no (or an unspecified) aspect ratio
  std::uint32_t sar_den = 0;
  std::uint32_t timing_num_units_in_tick = 0;  // 0 when the VUI has no timing info
  std::uint32_t timing_time_scale = 0;
  bool fixed_frame_rate = false;
};

/// The avcC record, plus what its first SPS says.
struct AvcConfig {
  std::uint8_t configuration_version = 0;
  std::uint8_t profile_idc = 0;
  std::uint8_t constraint_flags = 0;  // the profile_compatibility byte
  std::uint8_t level_idc = 0;
  std::uint8_t nal_length_size = 0;  // 1, 2 or 4
  std::vector<ByteRange> sps;  // relative to codec_private[0]; never empty
  std::vector<ByteRange> pps;  // relative to codec_private[0]
  // From the first SPS:
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint8_t chroma_format_idc = 0;
  std::uint8_t bit_depth_luma = 0;
  std::uint8_t bit_depth_chroma = 0;
  std::uint32_t sar_num = 0;
  std::uint32_t sar_den = 0;
  std::uint32_t timing_num_units_in_tick = 0;
  std::uint32_t timing_time_scale = 0;
  bool fixed_frame_rate = false;
};

/// Parses an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) and its first SPS.
/// `offset` is the absolute offset of codec_private[0], for error reports. Bytes after the
/// PPS list (the High-profile extension) are ignored: the SPS carries the same values.
/// Errors are Errc::kInvalidCodecPrivate.
Result<AvcConfig> parse_avc_decoder_configuration(ByteSpan codec_private, std::uint64_t offset);

/// Parses a sequence parameter set NAL unit, 1-byte NAL header included (nal_unit_type 7),
/// emulation-prevention bytes still in. Any error inside the RBSP is reported at `offset`,
/// the absolute offset of nal_unit[0]. Errors are Errc::kInvalidCodecPrivate.
Result<H264Sps> parse_h264_sps(ByteSpan nal_unit, std::uint64_t offset);

/// RFC 6381 §3.3 codecs parameter: "avc1." + profile_idc, constraint_flags and level_idc of
/// the record as six lowercase hex digits, e.g. "avc1.64001f".
std::string avc_codec_string(const AvcConfig& config);

}  // namespace kvsmux::codec
