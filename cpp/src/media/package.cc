// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/media/package.h"

#include <algorithm>
#include <map>

#include "kvsmux/media/samples.h"
#include "kvsmux/mkv/demuxer.h"
#include "kvsmux/mp4/clip.h"
#include "kvsmux/mp4/fmp4.h"
#include "kvsmux/ts/segment.h"

namespace kvsmux::media {
namespace {

struct Demuxed {
  std::vector<mkv::Header> headers;
  std::vector<mkv::Fragment> fragments;
};

Result<Demuxed> demux_all(ByteSpan mkv_bytes, const mkv::Limits& limits) {
  mkv::Demuxer demuxer(limits);
  demuxer.parse(mkv_bytes, 0, true);
  Demuxed d;
  for (mkv::Event& e : demuxer.take_events()) {
    if (auto* h = std::get_if<mkv::Header>(&e)) d.headers.push_back(std::move(*h));
    else if (auto* f = std::get_if<mkv::Fragment>(&e)) d.fragments.push_back(std::move(*f));
  }
  if (demuxer.error()) return *demuxer.error();
  if (d.headers.empty()) return make_error(Errc::kTruncated, 0, "input holds no Matroska header");
  return d;
}

bool same_track(const mkv::Track& a, const mkv::Track& b) {
  return a.number == b.number && a.codec_id == b.codec_id && a.codec_private_bytes == b.codec_private_bytes;
}

Status check_same_tracks(const Demuxed& d, const std::vector<const mkv::Track*>& tracks) {
  for (const mkv::Header& h : d.headers) {
    for (const mkv::Track* t : tracks) {
      const mkv::Track* other = h.find_track(t->number);
      if (!other || !same_track(*t, *other))
        return make_error(Errc::kUnsupportedCodec, h.range.offset,
                          "track " + std::to_string(t->number) + " changes between documents");
    }
  }
  return Ok{};
}

// The tracks to write: the one asked for, or every video and audio track.
Result<std::vector<const mkv::Track*>> select_tracks(const mkv::Header& header, std::optional<std::uint64_t> only) {
  std::vector<const mkv::Track*> out;
  for (const mkv::Track& t : header.tracks) {
    if (only ? t.number == *only
             : (t.type == static_cast<std::uint8_t>(mkv::TrackType::kVideo) ||
                t.type == static_cast<std::uint8_t>(mkv::TrackType::kAudio)))
      out.push_back(&t);
  }
  if (out.empty())
    return make_error(Errc::kUnsupportedCodec, header.range.offset,
                      only ? "no track " + std::to_string(*only) : std::string("no video or audio track"));
  return out;
}

// The first presentation time of `track` in each fragment, for the duration of the last
// sample before it.
std::optional<std::int64_t> first_pts(const mkv::Fragment& f, std::uint64_t track) {
  std::optional<std::int64_t> best;
  for (const mkv::Frame& fr : f.frames)
    if (fr.track == track && (!best || fr.pts_ns < *best)) best = fr.pts_ns;
  return best;
}

// samples[fragment][track index]
using SampleTable = std::vector<std::vector<std::vector<Sample>>>;

Result<SampleTable> all_samples(const Demuxed& d, const std::vector<const mkv::Track*>& tracks,
                                const std::vector<std::uint32_t>& timescales) {
  SampleTable table(d.fragments.size(), std::vector<std::vector<Sample>>(tracks.size()));
  for (std::size_t t = 0; t < tracks.size(); ++t) {
    std::optional<std::int64_t> next;
    for (std::size_t k = d.fragments.size(); k-- > 0;) {  // backwards, to know the next start
      KVSMUX_TRY(table[k][t], track_samples(d.fragments[k].frames, *tracks[t], timescales[t], next));
      if (auto p = first_pts(d.fragments[k], tracks[t]->number)) next = p;
    }
  }
  return table;
}

// Timescale units to nanoseconds, truncated toward zero; 128-bit, as epoch times in a
// 90 kHz timescale times 1e9 do not fit 64 bits.
std::int64_t to_ns(std::int64_t units, std::uint32_t timescale) {
  return static_cast<std::int64_t>(static_cast<__int128>(units) * 1'000'000'000 / timescale);
}

void set_times(PackagedSegment& seg, const std::vector<std::vector<Sample>>& per_track,
               const std::vector<std::uint32_t>& timescales) {
  std::optional<std::int64_t> start, end;
  for (std::size_t t = 0; t < per_track.size(); ++t) {
    for (const Sample& s : per_track[t]) {
      const std::int64_t pts = to_ns(s.pts, timescales[t]);
      const std::int64_t stop = to_ns(s.pts + s.duration, timescales[t]);
      start = start ? std::min(*start, pts) : pts;
      end = end ? std::max(*end, stop) : stop;
    }
  }
  seg.start_ns = start.value_or(0);
  seg.duration_ns = end.value_or(0) - seg.start_ns;
}

}  // namespace

Result<PackageResult> package(ByteSpan mkv_bytes, const PackageOptions& options) {
  KVSMUX_TRY(Demuxed d, demux_all(mkv_bytes, options.limits));
  KVSMUX_TRY(std::vector<const mkv::Track*> tracks, select_tracks(d.headers.front(), options.track));
  KVSMUX_CHECK(check_same_tracks(d, tracks));
  const bool ts = options.container == Container::kTs;
  std::vector<std::uint32_t> timescales;
  PackageResult result;
  for (const mkv::Track* t : tracks) {
    timescales.push_back(ts ? 90'000 : timescale_for(*t));
    result.tracks.push_back(t->number);
    result.codecs.push_back(mp4::codec_string(*t));
  }
  KVSMUX_TRY(SampleTable table, all_samples(d, tracks, timescales));

  if (options.container == Container::kFmp4) {
    std::vector<mp4::TrackInput> inputs;
    for (std::size_t t = 0; t < tracks.size(); ++t)
      inputs.push_back({tracks[t], static_cast<std::uint32_t>(tracks[t]->number), timescales[t]});
    KVSMUX_TRY(ByteBuffer init, mp4::write_init_segment(inputs));
    PackagedSegment& seg = result.segments.emplace_back();
    seg.output.out().bytes(init);
    seg.output.finish();
    std::uint32_t sequence = options.first_sequence_number;
    for (std::size_t k = 0; k < d.fragments.size(); ++k) {
      std::vector<mp4::TrackRun> runs;
      for (std::size_t t = 0; t < tracks.size(); ++t)
        if (!table[k][t].empty())
          runs.push_back({static_cast<std::uint32_t>(tracks[t]->number),
                          static_cast<std::uint64_t>(std::max<std::int64_t>(0, table[k][t].front().dts)), table[k][t]});
      if (runs.empty()) continue;
      PackagedSegment& s = result.segments.emplace_back();
      s.fragment_index = k;
      KVSMUX_CHECK(mp4::write_media_segment(sequence++, runs, mkv_bytes, 0, s.output));
      set_times(s, table[k], timescales);
    }
  } else if (ts) {
    // One DTS shift per track for the whole session, so decode times stay monotonic
    // across segments: the largest amount by which a decode time runs ahead of its
    // presentation time (B-frames).
    std::vector<std::int64_t> shift(tracks.size(), 0);
    for (const auto& frag : table)
      for (std::size_t t = 0; t < tracks.size(); ++t)
        for (const Sample& s : frag[t]) shift[t] = std::max(shift[t], s.dts - s.pts);
    ts::Continuity continuity;
    for (std::size_t k = 0; k < d.fragments.size(); ++k) {
      std::vector<ts::TrackPes> pes;
      for (std::size_t t = 0; t < tracks.size(); ++t) {
        const auto pid = static_cast<std::uint16_t>(ts::kFirstElementaryPid + t);
        if (!table[k][t].empty()) pes.push_back({tracks[t], pid, table[k][t], shift[t]});
      }
      if (pes.empty()) continue;
      PackagedSegment& s = result.segments.emplace_back();
      s.fragment_index = k;
      KVSMUX_CHECK(ts::write_segment(pes, mkv_bytes, 0, continuity, s.output.out()));
      s.output.finish();
      set_times(s, table[k], timescales);
    }
  } else {
    std::vector<mp4::ClipTrack> clip;
    for (std::size_t t = 0; t < tracks.size(); ++t) {
      mp4::ClipTrack& ct = clip.emplace_back();
      ct.track = tracks[t];
      ct.track_id = static_cast<std::uint32_t>(tracks[t]->number);
      ct.timescale = timescales[t];
      for (std::size_t k = 0; k < d.fragments.size(); ++k)
        if (!table[k][t].empty()) ct.pieces.push_back({mkv_bytes, 0, table[k][t]});
    }
    PackagedSegment& s = result.segments.emplace_back();
    KVSMUX_CHECK(mp4::write_clip(clip, s.output));
  }
  return result;
}

}  // namespace kvsmux::media
