// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/ts/annexb.h"

#include <string>

#include "kvsmux/codec/aac.h"
#include "kvsmux/codec/h264.h"
#include "kvsmux/codec/h265.h"

namespace kvsmux::ts {
namespace {

// ITU-T H.264 / H.265 Annex B: the 4-byte form of the start code (zero_byte + start_code_prefix_one_3bytes).
constexpr std::array<std::byte, 4> kStartCode{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}};
// H.264 §7.3.2.4: nal_unit_type 9, primary_pic_type 7 (any slice type), then the stop bit.
constexpr std::array<std::byte, 6> kH264Aud{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1},
                                            std::byte{0x09}, std::byte{0xF0}};
// H.265 §7.3.2.5: nal_unit_type 35, nuh_layer_id 0, nuh_temporal_id_plus1 1; pic_type 2
// (any slice type), then the stop bit.
constexpr std::array<std::byte, 7> kH265Aud{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1},
                                            std::byte{0x46}, std::byte{0x01}, std::byte{0x50}};
constexpr std::uint8_t kH264NalAud = 9;
constexpr std::uint8_t kH265NalVps = 32, kH265NalSps = 33, kH265NalPps = 34, kH265NalAud = 35;

std::uint8_t nal_unit_type(VideoCodec codec, std::byte first) {
  const auto b = std::to_integer<std::uint8_t>(first);
  return codec == VideoCodec::kH264 ? static_cast<std::uint8_t>(b & 0x1F) : static_cast<std::uint8_t>((b >> 1) & 0x3F);
}

ByteSpan nal_at(ByteSpan record, ByteRange r) { return record.subspan(r.offset, r.size); }

Error missing_codec_private(const mkv::Track& track) {
  return make_error(Errc::kMissingCodecPrivate, track.codec_private.offset, "no CodecPrivate for " + track.codec_id);
}

Error cannot_carry(const mkv::Track& track, const std::string& what) {
  return make_error(Errc::kUnsupportedCodec, track.codec_private.offset, what + " cannot be carried in ADTS");
}

}  // namespace

Result<VideoStream> video_stream(const mkv::Track& track, VideoCodec codec) {
  const ByteSpan record(track.codec_private_bytes);
  if (record.empty()) return missing_codec_private(track);
  VideoStream s;
  s.codec = codec;
  if (codec == VideoCodec::kH264) {
    KVSMUX_TRY(const codec::AvcConfig c, codec::parse_avc_decoder_configuration(record, track.codec_private.offset));
    s.nal_length_size = c.nal_length_size;
    for (const ByteRange& r : c.sps) s.parameter_sets.push_back(nal_at(record, r));
    for (const ByteRange& r : c.pps) s.parameter_sets.push_back(nal_at(record, r));
  } else {
    KVSMUX_TRY(const codec::HevcConfig c, codec::parse_hevc_decoder_configuration(record, track.codec_private.offset));
    s.nal_length_size = c.nal_length_size;
    for (const std::uint8_t type : {kH265NalVps, kH265NalSps, kH265NalPps})
      for (const codec::HevcNalArray& a : c.arrays)
        if (a.nal_unit_type == type)
          for (const ByteRange& r : a.nalus) s.parameter_sets.push_back(nal_at(record, r));
  }
  return s;
}

Status append_annexb(std::vector<ByteSpan>& pieces, const VideoStream& stream, ByteSpan frame,
                     std::uint64_t frame_offset, bool sync) {
  const bool h264 = stream.codec == VideoCodec::kH264;
  pieces.push_back(h264 ? ByteSpan(kH264Aud) : ByteSpan(kH265Aud));
  if (sync) {
    for (const ByteSpan ps : stream.parameter_sets) {
      pieces.push_back(kStartCode);
      pieces.push_back(ps);
    }
  }
  ByteReader r(frame, frame_offset);
  const std::uint8_t aud = h264 ? kH264NalAud : kH265NalAud;
  while (!r.empty()) {
    if (r.remaining() < stream.nal_length_size)
      return make_error(Errc::kInvalidFrame, frame_offset,
                        "NAL unit length field runs past the end of the frame (" + std::to_string(r.remaining()) +
                            " bytes left)");
    const std::uint64_t length = r.uint_n(stream.nal_length_size).value();
    if (length > r.remaining())
      return make_error(Errc::kInvalidFrame, frame_offset,
                        "NAL unit length " + std::to_string(length) + " runs past the end of the frame (" +
                            std::to_string(r.remaining()) + " bytes left)");
    const ByteSpan nal = r.take(length).value();
    if (nal.empty() || nal_unit_type(stream.codec, nal[0]) == aud) continue;
    pieces.push_back(kStartCode);
    pieces.push_back(nal);
  }
  return Ok{};
}

Result<AdtsStream> adts_stream(const mkv::Track& track) {
  const ByteSpan asc(track.codec_private_bytes);
  if (asc.empty()) return missing_codec_private(track);
  KVSMUX_TRY(const codec::AacConfig c, codec::parse_audio_specific_config(asc, track.codec_private.offset));
  if (c.audio_object_type < 1 || c.audio_object_type > 4)
    return cannot_carry(track, "AAC object type " + std::to_string(c.audio_object_type));
  if (c.sampling_frequency_index > 12)
    return cannot_carry(track, "AAC sampling frequency index " + std::to_string(c.sampling_frequency_index));
  if (c.channel_configuration < 1 || c.channel_configuration > 7)
    return cannot_carry(track, "AAC channel configuration " + std::to_string(c.channel_configuration));
  return AdtsStream{static_cast<std::uint8_t>(c.audio_object_type - 1), c.sampling_frequency_index,
                    c.channel_configuration};
}

Result<std::array<std::byte, kAdtsHeaderSize>> adts_header(const AdtsStream& stream, std::size_t frame_size,
                                                           std::uint64_t frame_offset) {
  if (frame_size > kMaxAdtsFrameLength - kAdtsHeaderSize)
    return make_error(Errc::kInvalidFrame, frame_offset,
                      "AAC frame of " + std::to_string(frame_size) + " bytes does not fit in ADTS (at most " +
                          std::to_string(kMaxAdtsFrameLength - kAdtsHeaderSize) + ")");
  // The 56 header bits in syntax order, each field with its width (ISO/IEC 13818-7 Table 5/6).
  std::uint64_t bits = 0;
  auto put = [&bits](unsigned width, std::uint64_t value) { bits = (bits << width) | (value & ((1u << width) - 1)); };
  put(12, 0xFFF);                             // syncword
  put(1, 0);                                  // ID: MPEG-4
  put(2, 0);                                  // layer
  put(1, 1);                                  // protection_absent: no CRC
  put(2, stream.profile);                     // profile_ObjectType
  put(4, stream.sampling_frequency_index);    // sampling_frequency_index
  put(1, 0);                                  // private_bit
  put(3, stream.channel_configuration);       // channel_configuration
  put(1, 0);                                  // original_copy
  put(1, 0);                                  // home
  put(1, 0);                                  // copyright_identification_bit
  put(1, 0);                                  // copyright_identification_start
  put(13, kAdtsHeaderSize + frame_size);      // aac_frame_length: header included
  put(11, 0x7FF);                             // adts_buffer_fullness: variable bit rate
  put(2, 0);                                  // number_of_raw_data_blocks_in_frame: 1 block
  std::array<std::byte, kAdtsHeaderSize> out{};
  for (std::size_t i = 0; i < kAdtsHeaderSize; ++i)
    out[i] = static_cast<std::byte>(bits >> (8 * (kAdtsHeaderSize - 1 - i)));
  return out;
}

}  // namespace kvsmux::ts
