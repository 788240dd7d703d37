// SPDX-License-Identifier: Apache-2.0
// Sample entries: what a decoder needs before the first sample (ISO/IEC 14496-12 §8.5.2,
// ISO/IEC 14496-15 for AVC/HEVC, ISO/IEC 14496-14 and 14496-1 for AAC, §12.2.3 for G.711).
#include <cstdio>
#include <string>

#include "kvsmux/codec/aac.h"
#include "kvsmux/codec/h264.h"
#include "kvsmux/codec/h265.h"
#include "kvsmux/mp4/box.h"
#include "kvsmux/mp4/boxes.h"

namespace kvsmux::mp4 {
namespace {

// Microsoft WAVEFORMATEX wFormatTag values of G.711 (mmreg.h), as A_MS/ACM carries them.
constexpr std::uint16_t kWaveFormatAlaw = 0x0006;
constexpr std::uint16_t kWaveFormatMulaw = 0x0007;
// WAVEFORMAT: wFormatTag, nChannels, nSamplesPerSec, nAvgBytesPerSec, nBlockAlign; the
// fields after it (wBitsPerSample, cbSize) are not needed for G.711.
constexpr std::size_t kWaveFormatSize = 14;

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// WAVEFORMATEX fields are little-endian (the one place in this writer that is).
std::uint32_t le(ByteSpan b, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | std::to_integer<std::uint32_t>(b[at + i]);
  return v;
}

Result<CodecConfig> g711_config(const mkv::Track& track) {
  // Microsoft WAVEFORMATEX (mmreg.h), the CodecPrivate of A_MS/ACM (Matroska codec mappings).
  const ByteSpan cp(track.codec_private_bytes);
  const std::uint64_t at = track.codec_private.offset;
  if (cp.size() < kWaveFormatSize)
    return make_error(Errc::kInvalidCodecPrivate, at,
                      "WAVEFORMATEX is " + std::to_string(cp.size()) + " bytes, shorter than 14");
  const auto tag = static_cast<std::uint16_t>(le(cp, 0, 2));
  if (tag != kWaveFormatAlaw && tag != kWaveFormatMulaw) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%04x", tag);
    return make_error(Errc::kUnsupportedCodec, at, "unsupported codec A_MS/ACM with format tag " + std::string(hex));
  }
  CodecConfig c;
  c.kind = tag == kWaveFormatAlaw ? SampleEntryKind::kAlaw : SampleEntryKind::kUlaw;
  c.codec_string = tag == kWaveFormatAlaw ? "alaw" : "ulaw";
  c.channels = static_cast<std::uint16_t>(le(cp, 2, 2));
  c.sample_rate = le(cp, 4, 4);
  if (c.channels == 0) return make_error(Errc::kInvalidCodecPrivate, at + 2, "WAVEFORMATEX nChannels is 0");
  if (c.sample_rate == 0) return make_error(Errc::kInvalidCodecPrivate, at + 4, "WAVEFORMATEX nSamplesPerSec is 0");
  return c;
}

// SampleEntry (ISO/IEC 14496-12 §8.5.2.2): the fields every sample entry starts with.
void sample_entry_fields(ByteWriter& out) {
  out.zeros(6);  // reserved
  out.u16(1);    // data_reference_index: the dref's one self-contained entry
}

// VisualSampleEntry (ISO/IEC 14496-12 §12.1.3.2), after the box header.
void visual_sample_entry_fields(ByteWriter& out, const CodecConfig& codec) {
  sample_entry_fields(out);
  out.u16(0);        // pre_defined
  out.u16(0);        // reserved
  out.zeros(12);     // pre_defined[3]
  out.u16(static_cast<std::uint16_t>(codec.width));
  out.u16(static_cast<std::uint16_t>(codec.height));
  out.u32(0x00480000);  // horizresolution: 72 dpi
  out.u32(0x00480000);  // vertresolution: 72 dpi
  out.u32(0);           // reserved
  out.u16(1);           // frame_count
  out.zeros(32);        // compressorname: empty (a length byte of 0, then padding)
  out.u16(0x0018);      // depth: colour, no alpha
  out.i16(-1);          // pre_defined
}

// AudioSampleEntry (ISO/IEC 14496-12 §12.2.3.2), version 0, after the box header.
void audio_sample_entry_fields(ByteWriter& out, const CodecConfig& codec) {
  sample_entry_fields(out);
  out.zeros(8);  // reserved[2]
  out.u16(codec.channels);
  out.u16(16);   // samplesize: the template value, also for 8-bit G.711
  out.u16(0);    // pre_defined
  out.u16(0);    // reserved
  // samplerate is 16.16 fixed point; above 65535 Hz it cannot be written, and 0 is what
  // FFmpeg's mov muxer writes then (the mdhd timescale still gives the rate).
  out.u32(codec.sample_rate <= 0xFFFF ? codec.sample_rate << 16 : 0);
}

// AVCConfigurationBox (ISO/IEC 14496-15 §5.4.2.1): the codec private is the record.
void write_avcC(ByteWriter& out, ByteSpan record) {
  BoxScope box(out, FourCC{"avcC"});
  out.bytes(record);
}

// HEVCConfigurationBox (ISO/IEC 14496-15 §8.4.1.1): the codec private is the record.
void write_hvcC(ByteWriter& out, ByteSpan record) {
  BoxScope box(out, FourCC{"hvcC"});
  out.bytes(record);
}

// AVCSampleEntry 'avc1' (ISO/IEC 14496-15 §5.4.2.1). No btrt: the bitrate is not known when
// the init segment is written (the box is optional).
void write_avc1(ByteWriter& out, const CodecConfig& codec) {
  BoxScope box(out, FourCC{"avc1"});
  visual_sample_entry_fields(out, codec);
  write_avcC(out, codec.config);
}

// HEVCSampleEntry 'hvc1' (ISO/IEC 14496-15 §8.4.1.1). hvc1 rather than hev1 because Apple
// players require it; the record is written as the producer sent it.
void write_hvc1(ByteWriter& out, const CodecConfig& codec) {
  BoxScope box(out, FourCC{"hvc1"});
  visual_sample_entry_fields(out, codec);
  write_hvcC(out, codec.config);
}

// ISO/IEC 14496-1 §8.3.3: sizeOfInstance in the expandable 4-byte form (7 bits per byte, the
// top bit says another byte follows), so a descriptor's size can be patched like a box's.
std::uint32_t expandable_size4(std::uint32_t size) {
  return 0x80808000u | ((size << 3) & 0x7F000000u) | ((size << 2) & 0x007F0000u) | ((size << 1) & 0x00007F00u) |
         (size & 0x7Fu);
}

// A descriptor (ISO/IEC 14496-1 §7.2.2.2 BaseDescriptor): tag, then sizeOfInstance patched
// when the scope ends, as BoxScope does for boxes.
class DescriptorScope {
 public:
  DescriptorScope(ByteWriter& out, std::uint8_t tag) : out_(out) {
    out.u8(tag);
    size_ = out.reserve<std::uint32_t>();
  }
  DescriptorScope(const DescriptorScope&) = delete;
  DescriptorScope& operator=(const DescriptorScope&) = delete;
  ~DescriptorScope() {
    out_.patch(size_, expandable_size4(static_cast<std::uint32_t>(out_.size() - size_.at - 4)));
  }

 private:
  ByteWriter& out_;
  Slot<std::uint32_t> size_;
};

constexpr std::uint8_t kESDescrTag = 0x03;
constexpr std::uint8_t kDecoderConfigDescrTag = 0x04;
constexpr std::uint8_t kDecSpecificInfoTag = 0x05;
constexpr std::uint8_t kSLConfigDescrTag = 0x06;
constexpr std::uint8_t kObjectTypeAudio14496_3 = 0x40;  // ISO/IEC 14496-1 Table 5
constexpr std::uint8_t kStreamTypeAudio = 0x05;         // ISO/IEC 14496-1 Table 6

// ESDBox 'esds' (ISO/IEC 14496-14 §5.6.1) holding an ES_Descriptor (ISO/IEC 14496-1 §7.2.6.5)
// with its DecoderConfigDescriptor (§7.2.6.6), DecoderSpecificInfo (the AudioSpecificConfig,
// §7.2.6.7) and SLConfigDescriptor (§7.3.2.3.1).
void write_esds(ByteWriter& out, ByteSpan audio_specific_config) {
  BoxScope box(out, FourCC{"esds"}, 0, 0);
  DescriptorScope es(out, kESDescrTag);
  out.u16(0);  // ES_ID: 0 in a file, the track says which stream (ISO/IEC 14496-14 §3.1.2)
  out.u8(0);   // streamDependenceFlag, URL_Flag, OCRstreamFlag, streamPriority: all 0
  {
    DescriptorScope dc(out, kDecoderConfigDescrTag);
    out.u8(kObjectTypeAudio14496_3);
    out.u8(static_cast<std::uint8_t>((kStreamTypeAudio << 2) | 1));  // streamType, upStream 0, reserved 1
    out.u24(0);  // bufferSizeDB: not known when the init segment is written
    out.u32(0);  // maxBitrate: not known
    out.u32(0);  // avgBitrate: 0, "variable bitrate" (§7.2.6.6.2)
    DescriptorScope dsi(out, kDecSpecificInfoTag);
    out.bytes(audio_specific_config);
  }
  DescriptorScope sl(out, kSLConfigDescrTag);
  out.u8(2);  // predefined: 2, reserved for use in MP4 files (ISO/IEC 14496-14 §3.1.2)
}

// MP4AudioSampleEntry 'mp4a' (ISO/IEC 14496-14 §5.6.1).
void write_mp4a(ByteWriter& out, const CodecConfig& codec) {
  BoxScope box(out, FourCC{"mp4a"});
  audio_sample_entry_fields(out, codec);
  write_esds(out, codec.config);
}

// AudioSampleEntry of G.711 (ISO/IEC 14496-12 §12.2.3; the 'alaw'/'ulaw' codes of the MP4
// registration authority). No codec-specific box: the code says everything. FFmpeg's mov
// demuxer reads these with 8 bits per sample whatever samplesize says.
void write_g711_entry(ByteWriter& out, FourCC type, const CodecConfig& codec) {
  BoxScope box(out, type);
  audio_sample_entry_fields(out, codec);
}

// 'alaw' sample entry: G.711 A-law (ISO/IEC 14496-12 §12.2.3).
void write_alaw(ByteWriter& out, const CodecConfig& codec) { write_g711_entry(out, FourCC{"alaw"}, codec); }
// 'ulaw' sample entry: G.711 µ-law (ISO/IEC 14496-12 §12.2.3).
void write_ulaw(ByteWriter& out, const CodecConfig& codec) { write_g711_entry(out, FourCC{"ulaw"}, codec); }

}  // namespace

Result<CodecConfig> codec_config(const mkv::Track& track) {
  // Matroska codec mappings (RFC 9559 §5.1.4.1.21, the codec specs): which ids become which entry.
  const bool avc = track.codec_id == "V_MPEG4/ISO/AVC";
  const bool hevc = track.codec_id == "V_MPEGH/ISO/HEVC";
  const bool aac = starts_with(track.codec_id, "A_AAC");
  const bool acm = track.codec_id == "A_MS/ACM";
  const std::uint64_t at = track.codec_private.offset;
  if (!avc && !hevc && !aac && !acm) return make_error(Errc::kUnsupportedCodec, at, "unsupported codec " + track.codec_id);
  const ByteSpan cp(track.codec_private_bytes);
  if (cp.empty()) return make_error(Errc::kMissingCodecPrivate, at, "no CodecPrivate for " + track.codec_id);
  if (acm) return g711_config(track);
  CodecConfig c;
  c.config = cp;
  if (avc) {
    KVSMUX_TRY(codec::AvcConfig avc_config, codec::parse_avc_decoder_configuration(cp, at));
    c.kind = SampleEntryKind::kAvc;
    c.width = avc_config.width;
    c.height = avc_config.height;
    c.codec_string = codec::avc_codec_string(avc_config);
  } else if (hevc) {
    KVSMUX_TRY(codec::HevcConfig hevc_config, codec::parse_hevc_decoder_configuration(cp, at));
    c.kind = SampleEntryKind::kHevc;
    c.width = hevc_config.width;
    c.height = hevc_config.height;
    c.codec_string = codec::hevc_codec_string(hevc_config);
  } else {
    KVSMUX_TRY(codec::AacConfig aac_config, codec::parse_audio_specific_config(cp, at));
    c.kind = SampleEntryKind::kAac;
    c.sample_rate = aac_config.sample_rate;
    // Channel configuration 0 (a program_config_element) says nothing here: the track does.
    const std::uint64_t channels = aac_config.channels ? aac_config.channels : track.channels ? track.channels : 2;
    c.channels = static_cast<std::uint16_t>(channels <= 0xFFFF ? channels : 2);
    c.codec_string = codec::aac_codec_string(aac_config);
  }
  return c;
}

void write_stsd(ByteWriter& out, const CodecConfig& codec) {
  // SampleDescriptionBox, ISO/IEC 14496-12 §8.5.2: one entry, all samples use it.
  BoxScope box(out, FourCC{"stsd"}, 0, 0);
  out.u32(1);  // entry_count
  switch (codec.kind) {
    case SampleEntryKind::kAvc: write_avc1(out, codec); break;
    case SampleEntryKind::kHevc: write_hvc1(out, codec); break;
    case SampleEntryKind::kAac: write_mp4a(out, codec); break;
    case SampleEntryKind::kAlaw: write_alaw(out, codec); break;
    case SampleEntryKind::kUlaw: write_ulaw(out, codec); break;
  }
}

Status write_stsd(ByteWriter& out, const mkv::Track& track) {
  // SampleDescriptionBox, ISO/IEC 14496-12 §8.5.2, of a Matroska track.
  KVSMUX_TRY(CodecConfig codec, codec_config(track));
  write_stsd(out, codec);
  return Ok{};
}

Result<CodecConfig> checked_codec_config(const mkv::Track* track, std::uint32_t timescale) {
  if (track == nullptr) return make_error(Errc::kInvalidValue, 0, "track input without a track");
  if (timescale == 0)
    return make_error(Errc::kInvalidValue, track->codec_private.offset,
                      "track " + std::to_string(track->number) + " has timescale 0");
  return codec_config(*track);
}

}  // namespace kvsmux::mp4
