// SPDX-License-Identifier: Apache-2.0
// From Matroska frames (presentation timestamps in decode order) to ISO BMFF samples
// (decode times, durations, composition offsets), the timing every writer shares.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kvsmux/mkv/types.h"

namespace kvsmux::media {

/// One access unit, in decode order, with times in the track's timescale.
struct Sample {
  std::uint64_t offset = 0;     // absolute input offset of the frame data
  std::uint32_t size = 0;
  std::int64_t pts = 0;         // presentation time
  std::int64_t dts = 0;         // decode time
  std::uint32_t duration = 0;   // dts of the next sample minus this one's
  std::int32_t cts_offset = 0;  // pts - dts; negative with B-frames (trun version 1)
  bool sync = false;
};

/// The timescale written for a track: 90 kHz for video (exact for millisecond Matroska
/// timestamps, and what MPEG-TS uses), the sample rate for audio, 1 kHz otherwise.
std::uint32_t timescale_for(const mkv::Track& track);

/// Nanoseconds to timescale units, rounded to the nearest unit (halves away from zero).
std::int64_t ns_to_timescale(std::int64_t ns, std::uint32_t timescale);

/// How long one frame lasts when nothing else says: DefaultDuration, else for AAC its
/// frame length over its sample rate; 0 when unknown.
std::int64_t default_frame_duration_ns(const mkv::Track& track);

/// The samples of one track in `frames` (a fragment's frames, in file order = decode order).
///
/// Decode times are the presentation times sorted ascending: decode order stays file order,
/// the decode timeline has no gaps, and a B-frame's composition offset is negative
/// (ISO/IEC 14496-12 §8.8.8, trun version 1). Durations are differences of decode times;
/// the last sample lasts until `next_pts_ns` when the caller knows the next fragment's
/// start (and it is later), else the track's default frame duration, else as long as the sample before it.
/// Audio samples are all sync samples. Offsets or durations that do not fit 32 bits are
/// kInvalidValue.
Result<std::vector<Sample>> track_samples(std::span<const mkv::Frame> frames, const mkv::Track& track,
                                          std::uint32_t timescale, std::optional<std::int64_t> next_pts_ns = {});

}  // namespace kvsmux::media
