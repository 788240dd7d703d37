// SPDX-License-Identifier: Apache-2.0
// MPEG-2 transport stream segments (ISO/IEC 13818-1) for HLS: one segment per fragment.
#pragma once

#include <array>
#include <span>

#include "kvsmux/media/samples.h"
#include "kvsmux/mkv/types.h"
#include "kvsmux/writer.h"

namespace kvsmux::ts {

inline constexpr std::uint16_t kPmtPid = 0x1000;
inline constexpr std::uint16_t kFirstElementaryPid = 0x100;  // track i (in Tracks order) gets 0x100 + i
inline constexpr std::size_t kPacketSize = 188;

/// The continuity counters of one session: they run on across its segments (§2.4.3.3).
struct Continuity {
  std::array<std::uint8_t, 8192> counter{};  // next counter per PID
};

/// One track of a segment: its samples with times in 90 kHz units (media::track_samples
/// with timescale 90000), decode order. `dts_shift` (90 kHz) is subtracted from every
/// decode time so that DTS <= PTS with B-frames; the caller keeps it constant per session.
struct TrackPes {
  const mkv::Track* track = nullptr;
  std::uint16_t pid = kFirstElementaryPid;
  std::span<const media::Sample> samples;
  std::int64_t dts_shift = 0;
};

/// PAT + PMT, then one PES per sample, interleaved by decode time, in 188-byte packets:
/// H.264/H.265 AVCC/HVCC length-prefixed NAL units become Annex B with an access unit
/// delimiter, and SPS/PPS (and VPS) from the codec private in front of every keyframe;
/// AAC frames are wrapped in ADTS; PCR on the first video PID (else the first PID);
/// 33-bit PTS/DTS; adaptation-field stuffing for the last packet of each PES.
/// Unsupported codecs: kUnsupportedCodec; bad codec private: kInvalidCodecPrivate; a NAL
/// length running past its frame: kInvalidFrame.
Status write_segment(std::span<const TrackPes> tracks, ByteSpan input, std::uint64_t input_offset,
                     Continuity& continuity, ByteWriter& out);

}  // namespace kvsmux::ts
