// SPDX-License-Identifier: Apache-2.0
// AAC codec private: the MPEG-4 Audio AudioSpecificConfig.
#pragma once

#include <cstdint>
#include <string>

#include "kvsmux/bytes.h"
#include "kvsmux/status.h"

namespace kvsmux::codec {

/// What an AudioSpecificConfig says.
struct AacConfig {
  /// The core object type: 2 (AAC LC) for HE-AAC, whether SBR is signalled hierarchically
  /// (a leading object type 5 or 29) or backward-compatibly (sync extension 0x2b7).
  std::uint8_t audio_object_type = 0;
  std::uint8_t sampling_frequency_index = 0;  // 15 when the rate is given explicitly
  std::uint32_t sample_rate = 0;              // of the core coder, Hz
  std::uint8_t channel_configuration = 0;
  std::uint8_t channels = 0;  // 0 for configuration 0 (program_config_element) and reserved ones
  bool sbr_present = false;
  bool ps_present = false;
  std::uint32_t extension_sample_rate = 0;  // SBR output rate, Hz; 0 without SBR
  /// Samples per channel per core frame: 1024 or 960 (frameLengthFlag), 512 or 480 for
  /// ER AAC LD. With SBR the decoder outputs twice as many at extension_sample_rate.
  std::uint16_t frame_length = 1024;
};

/// Parses an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), the GASpecificConfig of the
/// AAC object types (§4.4.1) and the backward-compatible SBR/PS sync extensions. `offset` is
/// the absolute offset of the first byte, for error reports. Not parsed: the
/// program_config_element of channel configuration 0 and ErrorProtectionSpecificConfig (an
/// SBR sync extension after either is not looked for). Errors are Errc::kInvalidCodecPrivate.
Result<AacConfig> parse_audio_specific_config(ByteSpan codec_private, std::uint64_t offset);

/// RFC 6381 §3.3 codecs parameter "mp4a.40.<object type>". HE-AAC is "mp4a.40.5" and
/// HE-AAC v2 "mp4a.40.29" whichever way SBR/PS is signalled, as players expect (RFC 6381
/// §3.3 leaves the choice; HLS authoring guides ask for the SBR/PS type).
std::string aac_codec_string(const AacConfig& config);

}  // namespace kvsmux::codec
