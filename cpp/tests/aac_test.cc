// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/aac.h"

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"

using kvsmux::ByteSpan;
using kvsmux::Errc;
using kvsmux::Error;
using kvsmux::Result;
using namespace kvsmux::codec;

namespace {

AacConfig parse_ok(const std::vector<std::byte>& data) {
  const auto r = parse_audio_specific_config(data, 0);
  CHECK(r.ok());
  return r.ok() ? r.value() : AacConfig{};
}

void check_error(const std::vector<std::byte>& data, std::uint64_t offset, const char* detail) {
  const auto r = parse_audio_specific_config(data, 300);
  CHECK(!r.ok());
  if (r.ok()) return;
  CHECK(r.error().code == Errc::kInvalidCodecPrivate);
  CHECK_EQ(r.error().offset, offset);
  CHECK_EQ(r.error().detail, std::string(detail));
}

}  // namespace

TEST_CASE(parses_aac_lc_44100_stereo) {
  const AacConfig c = parse_ok(check::bytes({
      0x12,  // audioObjectType 2 (00010), samplingFrequencyIndex 4 (0100, first 3 bits)
      0x10,  // ... (last bit 0), channelConfiguration 2 (0010), frameLength 0, core 0, ext 0
  }));
  CHECK_EQ(c.audio_object_type, 2);
  CHECK_EQ(c.sampling_frequency_index, 4);
  CHECK_EQ(c.sample_rate, 44100u);
  CHECK_EQ(c.channel_configuration, 2);
  CHECK_EQ(c.channels, 2);
  CHECK_EQ(c.sbr_present, false);
  CHECK_EQ(c.frame_length, 1024);
  CHECK_EQ(aac_codec_string(c), std::string("mp4a.40.2"));
}

TEST_CASE(parses_aac_lc_48000_stereo) {
  // The config the kvs-producer-c AAC sample sends for its aacSampleFrames.
  const AacConfig c = parse_ok(check::bytes({
      0x11,  // audioObjectType 2 (00010), samplingFrequencyIndex 3 (0011, first 3 bits)
      0x90,  // ... (last bit 1), channelConfiguration 2 (0010), GASpecificConfig 000
  }));
  CHECK_EQ(c.sample_rate, 48000u);
  CHECK_EQ(c.channels, 2);
}

TEST_CASE(parses_backward_compatible_sbr_signalling) {
  // HE-AAC as AAC LC 24 kHz plus an SBR sync extension (ISO/IEC 14496-3 §1.6.2.1).
  const AacConfig c = parse_ok(check::bytes({
      0x13, 0x10,  // 00010 0110 0010 000: AAC LC, 24000 Hz, stereo, GASpecificConfig 000
      0x56, 0xe5,  // 0101 0110 111: syncExtensionType 0x2b7; 00101: extensionAudioObjectType 5
      0x98,        // 1: sbrPresentFlag; 0011: extensionSamplingFrequencyIndex 3 (48000); 000
  }));
  CHECK_EQ(c.audio_object_type, 2);
  CHECK_EQ(c.sample_rate, 24000u);
  CHECK_EQ(c.sbr_present, true);
  CHECK_EQ(c.ps_present, false);
  CHECK_EQ(c.extension_sample_rate, 48000u);
  CHECK_EQ(aac_codec_string(c), std::string("mp4a.40.5"));
}

TEST_CASE(parses_backward_compatible_ps_signalling) {
  // 00010 0110 0001 000 | 0x2b7 00101 1 0011 | 0x548 1 (psPresentFlag) | padding
  const AacConfig c = parse_ok(check::bytes({0x13, 0x08, 0x56, 0xe5, 0x9d, 0x48, 0x80}));
  CHECK_EQ(c.channels, 1);
  CHECK_EQ(c.sbr_present, true);
  CHECK_EQ(c.ps_present, true);
  CHECK_EQ(aac_codec_string(c), std::string("mp4a.40.29"));
}

TEST_CASE(parses_hierarchical_sbr_signalling) {
  // 00101: audioObjectType 5 (SBR); 0111: 22050 Hz; 0010: stereo; 0100: extension 44100 Hz;
  // 00010: audioObjectType 2; GASpecificConfig 000 -> 0010 1011 1001 0010 0000 1000 0000 0000.
  const AacConfig he = parse_ok(check::bytes({0x2b, 0x92, 0x08, 0x00}));
  CHECK_EQ(he.audio_object_type, 2);
  CHECK_EQ(he.sample_rate, 22050u);
  CHECK_EQ(he.extension_sample_rate, 44100u);
  CHECK_EQ(he.sbr_present, true);
  CHECK_EQ(he.ps_present, false);
  CHECK_EQ(aac_codec_string(he), std::string("mp4a.40.5"));
  // 11101: audioObjectType 29 (PS); 0110: 24000 Hz; 0001: mono; 0011: 48000 Hz; 00010; 000.
  const AacConfig v2 = parse_ok(check::bytes({0xeb, 0x09, 0x88, 0x00}));
  CHECK_EQ(v2.audio_object_type, 2);
  CHECK_EQ(v2.ps_present, true);
  CHECK_EQ(v2.channels, 1);
  CHECK_EQ(aac_codec_string(v2), std::string("mp4a.40.29"));
}

TEST_CASE(parses_escaped_object_type) {
  // 11111: escape; 001010: 32 + 10 = 42 (USAC); 0011: 48000 Hz; 0010: stereo.
  const AacConfig c = parse_ok(check::bytes({0xf9, 0x46, 0x40}));
  CHECK_EQ(c.audio_object_type, 42);
  CHECK_EQ(c.sample_rate, 48000u);
  CHECK_EQ(c.channels, 2);
  CHECK_EQ(aac_codec_string(c), std::string("mp4a.40.42"));
}

TEST_CASE(parses_explicit_frequency_and_frame_lengths) {
  // 00010; 1111: explicit; 0x0056ce (22222 Hz) in 24 bits; 0010: stereo; 000.
  const AacConfig explicit_rate = parse_ok(check::bytes({0x17, 0x80, 0x2b, 0x67, 0x10}));
  CHECK_EQ(explicit_rate.sampling_frequency_index, 15);
  CHECK_EQ(explicit_rate.sample_rate, 22222u);
  // 00010 0011 0010, frameLengthFlag 1: 960-sample frames.
  CHECK_EQ(parse_ok(check::bytes({0x11, 0x94})).frame_length, 960);
  // 10111: ER AAC LD; 0011; 0001: mono; frameLengthFlag 0 (512), 0, 0; epConfig 00.
  const AacConfig ld = parse_ok(check::bytes({0xb9, 0x88, 0x00}));
  CHECK_EQ(ld.audio_object_type, 23);
  CHECK_EQ(ld.frame_length, 512);
  CHECK_EQ(ld.channels, 1);
}

TEST_CASE(maps_channel_configurations) {
  CHECK_EQ(parse_ok(check::bytes({0x12, 0x38})).channels, 8);  // configuration 7: 7.1
  CHECK_EQ(parse_ok(check::bytes({0x12, 0x30})).channels, 6);  // configuration 6: 5.1
  const AacConfig pce = parse_ok(check::bytes({0x12, 0x00, 0x00}));  // configuration 0: a PCE follows
  CHECK_EQ(pce.channel_configuration, 0);
  CHECK_EQ(pce.channels, 0);
}

TEST_CASE(rejects_malformed_configs) {
  check_error({}, 300, "AudioSpecificConfig is empty");
  check_error(check::bytes({0x12}), 300, "AudioSpecificConfig: bitstream ended early");
  check_error(check::bytes({0x16, 0x90}), 300, "AudioSpecificConfig: samplingFrequencyIndex is reserved");
  check_error(check::bytes({0x17, 0x80, 0x00, 0x00, 0x10}), 300, "AudioSpecificConfig: samplingFrequency is 0");
  check_error(check::bytes({0x02, 0x10}), 300, "AudioSpecificConfig: audioObjectType is 0");
  // A sync extension that announces SBR and then ends.
  check_error(check::bytes({0x13, 0x10, 0x56, 0xe5}), 304, "AudioSpecificConfig: bitstream ended early");
}

TEST_CASE(truncated_configs_fail_or_lose_only_the_extension) {
  for (const auto& config : {check::bytes({0x12, 0x10}), check::bytes({0x11, 0x90})}) {
    for (std::size_t n = 0; n < config.size(); ++n)
      CHECK(!parse_audio_specific_config(ByteSpan(config).first(n), 0).ok());
  }
  // A cut before the sync extension leaves a plain AAC LC config: that is what it says.
  const auto he = check::bytes({0x13, 0x10, 0x56, 0xe5, 0x98});
  for (std::size_t n = 0; n < he.size(); ++n) {
    const auto r = parse_audio_specific_config(ByteSpan(he).first(n), 0);
    if (r.ok()) CHECK(!r->sbr_present);
  }
}

TEST_CASE(survives_every_two_byte_config) {
  for (int hi = 0; hi < 256; ++hi) {
    for (int lo = 0; lo < 256; ++lo) {
      const auto r = parse_audio_specific_config(check::bytes({hi, lo}), 0);
      if (!r.ok()) CHECK(r.error().code == Errc::kInvalidCodecPrivate);
    }
  }
}

TEST_MAIN()
