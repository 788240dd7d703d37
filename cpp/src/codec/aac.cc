// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/aac.h"

#include <iterator>
#include <utility>

#include "kvsmux/codec/bitreader.h"

namespace kvsmux::codec {
namespace {

// ISO/IEC 14496-3 Table 1.16: samplingFrequencyIndex 0..12; 13 and 14 are reserved.
constexpr std::uint32_t kSampleRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                          22050, 16000, 12000, 11025, 8000,  7350};
// ISO/IEC 14496-3 channelConfiguration semantics: channels per configuration (0: a PCE says).
constexpr std::uint8_t kChannels[16] = {0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0};

constexpr std::uint32_t kEscapeObjectType = 31;
constexpr std::uint32_t kExplicitFrequency = 15;
constexpr std::uint8_t kObjectTypeSbr = 5;
constexpr std::uint8_t kObjectTypePs = 29;
constexpr std::uint8_t kObjectTypeErAacLd = 23;
constexpr std::uint8_t kObjectTypeErBsac = 22;
constexpr std::uint32_t kSyncExtensionSbr = 0x2b7;
constexpr std::uint32_t kSyncExtensionPs = 0x548;

Error invalid(std::uint64_t offset, std::string detail) {
  return make_error(Errc::kInvalidCodecPrivate, offset, std::move(detail));
}

// ISO/IEC 14496-3 §1.6.2.1: the object types whose specific config is GASpecificConfig.
bool is_general_audio(std::uint8_t aot) {
  switch (aot) {
    case 1: case 2: case 3: case 4: case 6: case 7:
    case 17: case 19: case 20: case 21: case 22: case 23:
      return true;
    default:
      return false;
  }
}

// ISO/IEC 14496-3 §1.6.2.1: the error-resilient object types followed by epConfig.
bool has_ep_config(std::uint8_t aot) { return (aot >= 17 && aot <= 27 && aot != 18) || aot == 39; }

// ISO/IEC 14496-3 §1.6.2.1 GetAudioObjectType(): 5 bits, 31 escapes to 32 + 6 bits.
Result<std::uint8_t> read_object_type(BitReader& bits) {
  KVSMUX_TRY(const std::uint32_t aot, bits.u(5));
  if (aot != kEscapeObjectType) return static_cast<std::uint8_t>(aot);
  KVSMUX_TRY(const std::uint32_t aot_ext, bits.u(6));
  return static_cast<std::uint8_t>(32 + aot_ext);
}

struct Frequency {
  std::uint8_t index = 0;
  std::uint32_t hz = 0;
};

// ISO/IEC 14496-3 §1.6.2.1 samplingFrequencyIndex; index 15 is followed by the 24-bit rate.
Result<Frequency> read_frequency(BitReader& bits) {
  const std::uint64_t at = bits.byte_offset();
  KVSMUX_TRY(const std::uint32_t index, bits.u(4));
  if (index == kExplicitFrequency) {
    KVSMUX_TRY(const std::uint32_t hz, bits.u(24));
    if (hz == 0) return invalid(at, "samplingFrequency is 0");
    return Frequency{static_cast<std::uint8_t>(index), hz};
  }
  if (index >= std::size(kSampleRates)) return invalid(at, "samplingFrequencyIndex is reserved");
  return Frequency{static_cast<std::uint8_t>(index), kSampleRates[index]};
}

// ISO/IEC 14496-3 §4.4.1 GASpecificConfig(). Returns whether its end is known: the
// program_config_element of channel configuration 0 is not parsed.
Result<bool> parse_ga_specific_config(BitReader& bits, AacConfig& c) {
  KVSMUX_TRY(const bool frame_length_flag, bits.flag());
  if (c.audio_object_type == kObjectTypeErAacLd) {
    c.frame_length = frame_length_flag ? 480 : 512;
  } else {
    c.frame_length = frame_length_flag ? 960 : 1024;
  }
  KVSMUX_TRY(const bool depends_on_core_coder, bits.flag());
  if (depends_on_core_coder) KVSMUX_CHECK(bits.skip(14));  // coreCoderDelay
  KVSMUX_TRY(const bool extension_flag, bits.flag());
  if (c.channel_configuration == 0) return false;
  const std::uint8_t aot = c.audio_object_type;
  if (aot == 6 || aot == 20) KVSMUX_CHECK(bits.skip(3));  // layerNr
  if (extension_flag) {
    if (aot == kObjectTypeErBsac) KVSMUX_CHECK(bits.skip(16));  // numOfSubFrame, layer_length
    if (aot == 17 || aot == 19 || aot == 20 || aot == 23) KVSMUX_CHECK(bits.skip(3));  // resilience flags
    KVSMUX_CHECK(bits.skip(1));  // extensionFlag3
  }
  return true;
}

// ISO/IEC 14496-3 §1.6.2.1: backward-compatible SBR (and then PS) signalling after the
// specific config, looked for only when at least 16 bits are left. ER BSAC with SBR
// (extension type 22) is not handled.
Status parse_sync_extension(BitReader& bits, AacConfig& c) {
  if (bits.bits_left() < 16) return Ok{};
  KVSMUX_TRY(const std::uint32_t sync, bits.u(11));
  if (sync != kSyncExtensionSbr) return Ok{};
  KVSMUX_TRY(const std::uint8_t extension_type, read_object_type(bits));
  if (extension_type != kObjectTypeSbr) return Ok{};
  KVSMUX_TRY(c.sbr_present, bits.flag());
  if (!c.sbr_present) return Ok{};
  KVSMUX_TRY(const Frequency extension, read_frequency(bits));
  c.extension_sample_rate = extension.hz;
  if (bits.bits_left() < 12) return Ok{};
  KVSMUX_TRY(const std::uint32_t ps_sync, bits.u(11));
  if (ps_sync == kSyncExtensionPs) {
    KVSMUX_TRY(c.ps_present, bits.flag());
  }
  return Ok{};
}

// ISO/IEC 14496-3 §1.6.2.1 AudioSpecificConfig().
Result<AacConfig> parse_config(BitReader& bits) {
  AacConfig c;
  const std::uint64_t start = bits.byte_offset();
  KVSMUX_TRY(std::uint8_t aot, read_object_type(bits));
  if (aot == 0) return invalid(start, "audioObjectType is 0");
  KVSMUX_TRY(const Frequency frequency, read_frequency(bits));
  c.sampling_frequency_index = frequency.index;
  c.sample_rate = frequency.hz;
  KVSMUX_TRY(const std::uint32_t channel_configuration, bits.u(4));
  c.channel_configuration = static_cast<std::uint8_t>(channel_configuration);
  c.channels = kChannels[channel_configuration];
  // Hierarchical signalling: the SBR/PS type first, then the core type it extends.
  const bool hierarchical_sbr = (aot == kObjectTypeSbr || aot == kObjectTypePs);
  if (hierarchical_sbr) {
    c.sbr_present = true;
    c.ps_present = (aot == kObjectTypePs);
    KVSMUX_TRY(const Frequency extension, read_frequency(bits));
    c.extension_sample_rate = extension.hz;
    KVSMUX_TRY(aot, read_object_type(bits));
    if (aot == kObjectTypeErBsac) KVSMUX_CHECK(bits.skip(4));  // extensionChannelConfiguration
  }
  c.audio_object_type = aot;
  if (!is_general_audio(aot)) return c;  // only GASpecificConfig is needed here
  KVSMUX_TRY(const bool end_known, parse_ga_specific_config(bits, c));
  if (!end_known || hierarchical_sbr) return c;
  if (has_ep_config(aot)) {
    KVSMUX_TRY(const std::uint32_t ep_config, bits.u(2));
    if (ep_config >= 2) return c;  // ErrorProtectionSpecificConfig is not parsed
  }
  KVSMUX_CHECK(parse_sync_extension(bits, c));
  return c;
}

}  // namespace

// ISO/IEC 14496-3 §1.6.2.1 AudioSpecificConfig.
Result<AacConfig> parse_audio_specific_config(ByteSpan codec_private, std::uint64_t offset) {
  if (codec_private.empty()) return invalid(offset, "AudioSpecificConfig is empty");
  BitReader bits(codec_private, offset);
  return with_context(parse_config(bits), "AudioSpecificConfig: ");
}

std::string aac_codec_string(const AacConfig& config) {
  std::uint32_t aot = config.audio_object_type;
  if (config.ps_present) {
    aot = kObjectTypePs;
  } else if (config.sbr_present) {
    aot = kObjectTypeSbr;
  }
  return "mp4a.40." + std::to_string(aot);
}

}  // namespace kvsmux::codec
