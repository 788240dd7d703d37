// SPDX-License-Identifier: Apache-2.0
// Elementary streams as MPEG-TS carries them: H.264/H.265 in Annex B byte-stream format
// (ITU-T H.264 Annex B, H.265 Annex B) and AAC in ADTS (ISO/IEC 13818-7 §6.2, 14496-3 §1.A.2).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kvsmux/bytes.h"
#include "kvsmux/mkv/types.h"
#include "kvsmux/status.h"

namespace kvsmux::ts {

enum class VideoCodec : std::uint8_t { kH264, kH265 };

/// What the Annex B conversion of one video track takes from its codec private.
struct VideoStream {
  VideoCodec codec = VideoCodec::kH264;
  std::uint8_t nal_length_size = 4;
  std::vector<ByteSpan> parameter_sets;  // NAL units without start codes, in writing order
};

/// Parses the track's avcC (kH264: every SPS, then every PPS) or hvcC (kH265: the VPS, SPS
/// and PPS arrays in that order; other arrays such as SEI are left out). The spans point into
/// `track.codec_private_bytes`. No codec private: kMissingCodecPrivate; a malformed one: the
/// parser's kInvalidCodecPrivate.
Result<VideoStream> video_stream(const mkv::Track& track, VideoCodec codec);

/// Appends to `pieces` one access unit in Annex B form: an access unit delimiter, then for a
/// sync sample the codec private's parameter sets, then every NAL unit of the
/// length-prefixed (AVCC/HVCC) `frame`, each after a 4-byte start code. AUDs already in the
/// frame are dropped, so the access unit has exactly one, first (H.264 §7.4.1.2.3, H.265
/// §7.4.2.4.4); empty NAL units are dropped too; everything else is kept as it is, including
/// in-band parameter sets (repeating identical ones is allowed). The pieces point into
/// `frame`, `stream` and static storage. A length field or a NAL unit that runs past the end
/// of the frame is kInvalidFrame at `frame_offset`, the frame's absolute offset.
Status append_annexb(std::vector<ByteSpan>& pieces, const VideoStream& stream, ByteSpan frame,
                     std::uint64_t frame_offset, bool sync);

/// The fixed ADTS header fields of one AAC track.
struct AdtsStream {
  std::uint8_t profile = 1;  // audio object type - 1: 0 Main, 1 LC, 2 SSR, 3 LTP
  std::uint8_t sampling_frequency_index = 0;
  std::uint8_t channel_configuration = 0;
};

inline constexpr std::size_t kAdtsHeaderSize = 7;                       // protection_absent = 1: no CRC
inline constexpr std::size_t kMaxAdtsFrameLength = (1u << 13) - 1;      // aac_frame_length is 13 bits

/// Parses the track's AudioSpecificConfig. HE-AAC gives its core (LC) object type and rate:
/// ADTS signals SBR implicitly. What ADTS cannot say is kUnsupportedCodec: an object type
/// above 4, an explicit sampling frequency (index 15), channel configuration 0 (a
/// program_config_element) or above 7.
Result<AdtsStream> adts_stream(const mkv::Track& track);

/// ISO/IEC 13818-7 §6.2.1 adts_fixed_header + adts_variable_header for a raw AAC frame of
/// `frame_size` bytes: MPEG-4 ID, no CRC, buffer fullness 0x7FF (variable rate), one raw
/// data block. A frame too large for the 13-bit aac_frame_length is kInvalidFrame at `frame_offset`.
Result<std::array<std::byte, kAdtsHeaderSize>> adts_header(const AdtsStream& stream, std::size_t frame_size,
                                                           std::uint64_t frame_offset);

}  // namespace kvsmux::ts
