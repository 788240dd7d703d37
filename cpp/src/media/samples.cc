// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/media/samples.h"

#include <algorithm>
#include <limits>
#include <string>

namespace kvsmux::media {

std::uint32_t timescale_for(const mkv::Track& track) {
  if (track.type == static_cast<std::uint8_t>(mkv::TrackType::kVideo)) return 90'000;
  if (track.type == static_cast<std::uint8_t>(mkv::TrackType::kAudio)) {
    if (track.codec.parsed && track.codec.sample_rate) return track.codec.sample_rate;
    if (track.sampling_frequency >= 1.0 && track.sampling_frequency <= 1'000'000.0)
      return static_cast<std::uint32_t>(track.sampling_frequency + 0.5);
  }
  return 1000;
}

std::int64_t ns_to_timescale(std::int64_t ns, std::uint32_t timescale) {
  const __int128 scaled = static_cast<__int128>(ns) * timescale;
  const __int128 half = 500'000'000;
  return static_cast<std::int64_t>(scaled >= 0 ? (scaled + half) / 1'000'000'000 : -((-scaled + half) / 1'000'000'000));
}

std::int64_t default_frame_duration_ns(const mkv::Track& track) {
  if (track.default_duration_ns && track.default_duration_ns < static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(track.default_duration_ns);
  if (track.codec.parsed && track.codec_id.rfind("A_AAC", 0) == 0 && track.codec.sample_rate)
    return 1024LL * 1'000'000'000 / track.codec.sample_rate;  // AAC frame length (960 is not used by KVS producers)
  return 0;
}

Result<std::vector<Sample>> track_samples(std::span<const mkv::Frame> frames, const mkv::Track& track,
                                          std::uint32_t timescale, std::optional<std::int64_t> next_pts_ns) {
  std::vector<Sample> out;
  std::vector<std::int64_t> sorted;
  // Every audio frame decodes on its own, whatever the producer flagged (GStreamer and the
  // KVS producer SDK send audio blocks without the keyframe flag).
  const bool audio = track.type == static_cast<std::uint8_t>(mkv::TrackType::kAudio);
  for (const mkv::Frame& f : frames) {
    if (f.track != track.number) continue;
    Sample s;
    s.offset = f.offset;
    s.size = f.size;
    s.pts = ns_to_timescale(f.pts_ns, timescale);
    s.sync = f.key || audio;
    out.push_back(s);
    sorted.push_back(s.pts);
  }
  std::sort(sorted.begin(), sorted.end());
  const std::int64_t default_duration = ns_to_timescale(default_frame_duration_ns(track), timescale);
  for (std::size_t i = 0; i < out.size(); ++i) {
    Sample& s = out[i];
    s.dts = sorted[i];
    std::int64_t duration;
    if (i + 1 < out.size()) duration = sorted[i + 1] - sorted[i];
    else if (next_pts_ns && ns_to_timescale(*next_pts_ns, timescale) > sorted[i]) duration = ns_to_timescale(*next_pts_ns, timescale) - sorted[i];
    else if (default_duration > 0) duration = default_duration;
    else duration = i > 0 ? out[i - 1].duration : 0;
    const std::int64_t cts = s.pts - s.dts;
    if (duration < 0 || duration > std::numeric_limits<std::uint32_t>::max())
      return make_error(Errc::kInvalidValue, s.offset, "sample duration " + std::to_string(duration) + " does not fit 32 bits");
    if (cts < std::numeric_limits<std::int32_t>::min() || cts > std::numeric_limits<std::int32_t>::max())
      return make_error(Errc::kInvalidValue, s.offset, "composition offset does not fit 32 bits");
    s.duration = static_cast<std::uint32_t>(duration);
    s.cts_offset = static_cast<std::int32_t>(cts);
  }
  return out;
}

}  // namespace kvsmux::media
