// SPDX-License-Identifier: Apache-2.0
// One progressive MP4 from a list of fragments (KVS GetClip, `kvsmux repackage --to mp4`).
//
// Layout: ftyp, moov, mdat ("fast start": a player can start before the whole file has
// arrived). One chunk per piece (= per fragment) per track; chunks are interleaved in time
// order (the piece whose first decode time is earliest goes first, the lower track on a
// tie), so fragment 1 video, fragment 1 audio, fragment 2 video, ... The media bytes are
// appended by reference; only ftyp, moov and the mdat header are generated.
//
// Timeline: the clip starts at t0, the earliest presentation time of any track. A track's
// decode timeline is its durations run end to end (they already run to the next fragment's
// start, so gaps lengthen the last sample before them). Its decode times are shifted earlier
// by the largest (decode time - presentation time), so that every composition offset is >=
// 0 (ctts version 0). The edit list then starts the track's presentation at its first
// presentation time (media_time), after an empty edit of (first pts - t0) when the track
// starts later than t0: audio and video keep the offset they had in the input.
#include "kvsmux/mp4/clip.h"

#include <algorithm>
#include <limits>
#include <string>

#include "kvsmux/mp4/box.h"
#include "kvsmux/mp4/boxes.h"
#include "kvsmux/mp4/sample_tables.h"

namespace kvsmux::mp4 {
namespace {

using Int128 = __int128;

constexpr std::uint32_t kMovieTimescale = 1000;  // mvhd and elst segment durations: milliseconds
constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

// One track's sample tables and timeline, computed once from its pieces.
struct TrackLayout {
  const ClipTrack* in = nullptr;
  CodecConfig codec;                           // codec_config(*in->track)
  std::vector<std::uint32_t> durations, sizes, cts_offsets, sync_numbers, chunk_samples;
  std::vector<std::uint64_t> chunk_positions;  // first byte of each chunk, from the mdat payload start
  std::uint64_t media_duration = 0;            // sum of durations, media timescale
  std::int64_t first_pts = 0;                  // earliest presentation time, input timeline
  std::int64_t media_time = 0;                 // first_pts on the shifted media timeline
  bool all_sync = true;
  std::vector<Edit> edits;
  std::uint64_t duration = 0;                  // sum of the edits, movie timescale
  bool empty() const { return sizes.empty(); }
};

// Durations, sizes, composition offsets and sync samples of one track, in decode order.
Result<TrackLayout> layout_samples(const ClipTrack& track, CodecConfig codec) {
  TrackLayout t;
  t.in = &track;
  t.codec = std::move(codec);
  std::vector<std::int64_t> pts;
  std::vector<std::uint64_t> where;  // input offsets, for error reports
  for (const ClipPiece& piece : track.pieces) {
    if (piece.samples.empty()) continue;  // no chunk: a chunk holds at least one sample
    if (piece.samples.size() > kU32Max || t.chunk_samples.size() >= kU32Max)
      return make_error(Errc::kLimitExceeded, piece.input_offset, "too many chunks or samples in one piece");
    t.chunk_samples.push_back(static_cast<std::uint32_t>(piece.samples.size()));
    for (const media::Sample& s : piece.samples) {
      // As fmp4.cc's check_samples says it.
      if (s.offset < piece.input_offset || s.offset - piece.input_offset > piece.input.size() ||
          s.size > piece.input.size() - (s.offset - piece.input_offset))
        return make_error(Errc::kTruncated, s.offset,
                          "sample of " + std::to_string(s.size) + " bytes is outside the input");
      t.durations.push_back(s.duration);
      t.sizes.push_back(s.size);
      pts.push_back(s.pts);
      where.push_back(s.offset);
      if (s.sync) t.sync_numbers.push_back(static_cast<std::uint32_t>(t.sizes.size()));
      else t.all_sync = false;
    }
    if (t.sizes.size() > kU32Max)
      return make_error(Errc::kLimitExceeded, piece.input_offset, "more than 2^32-1 samples in one track");
  }
  if (t.empty()) return t;
  // decode[i] = sum of the durations before i; base = min(pts - decode) is the input time
  // of media time 0, so every offset pts - base - decode is >= 0 and the smallest is 0.
  Int128 decode = 0, base = pts[0];
  for (std::size_t i = 0; i < pts.size(); ++i) {
    base = std::min<Int128>(base, pts[i] - decode);
    decode += t.durations[i];
  }
  t.media_duration = static_cast<std::uint64_t>(decode);
  decode = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const Int128 offset = pts[i] - base - decode;
    if (offset > static_cast<Int128>(kU32Max))
      return make_error(Errc::kInvalidValue, where[i], "composition offset does not fit 32 bits");
    t.cts_offsets.push_back(static_cast<std::uint32_t>(offset));
    decode += t.durations[i];
  }
  t.first_pts = *std::min_element(pts.begin(), pts.end());
  t.media_time = static_cast<std::int64_t>(t.first_pts - base);
  return t;
}

// a / ta < b / tb, exactly (times in different timescales).
bool earlier(std::int64_t a, std::uint32_t ta, std::int64_t b, std::uint32_t tb) {
  return static_cast<Int128>(a) * tb < static_cast<Int128>(b) * ta;
}

// Places every chunk in the mdat payload, in time order over all tracks, and collects the
// media spans in that order. Returns the payload size.
std::uint64_t place_chunks(std::vector<TrackLayout>& tracks, std::vector<ByteSpan>& media) {
  std::vector<std::size_t> next(tracks.size(), 0);
  std::uint64_t position = 0;
  for (;;) {
    std::size_t best = tracks.size();
    for (std::size_t i = 0; i < tracks.size(); ++i) {
      const auto& pieces = tracks[i].in->pieces;
      while (next[i] < pieces.size() && pieces[next[i]].samples.empty()) ++next[i];
      if (next[i] == pieces.size()) continue;
      if (best == tracks.size() ||
          earlier(pieces[next[i]].samples.front().dts, tracks[i].in->timescale,
                  tracks[best].in->pieces[next[best]].samples.front().dts, tracks[best].in->timescale))
        best = i;
    }
    if (best == tracks.size()) return position;
    const ClipPiece& piece = tracks[best].in->pieces[next[best]++];
    tracks[best].chunk_positions.push_back(position);
    for (const media::Sample& s : piece.samples) {
      const ByteSpan bytes = piece.input.subspan(s.offset - piece.input_offset, s.size);
      // Adjacent frames (laces, a run of one track's blocks) become one span.
      if (!media.empty() && media.back().data() + media.back().size() == bytes.data())
        media.back() = ByteSpan(media.back().data(), media.back().size() + bytes.size());
      else if (!bytes.empty())
        media.push_back(bytes);
      position += s.size;
    }
  }
}

// round(a * b / c) with halves up, for a, b, c >= 0.
std::uint64_t mul_div_round(Int128 a, Int128 b, Int128 c) {
  return static_cast<std::uint64_t>((2 * a * b + c) / (2 * c));
}
// ceil(a * b / c), for a, b >= 0 and c > 0.
std::uint64_t mul_div_ceil(Int128 a, Int128 b, Int128 c) { return static_cast<std::uint64_t>((a * b + c - 1) / c); }

// The edit list of every track: an empty edit for the time between t0 (the clip's earliest
// presentation time) and the track's first presentation time, rounded to the nearest movie
// tick, then the whole media from its first presentation time (rounded up, so the last
// sample is never cut).
void plan_edits(std::vector<TrackLayout>& tracks) {
  const TrackLayout* first = nullptr;
  for (const TrackLayout& t : tracks)
    if (!t.empty() && (!first || earlier(t.first_pts, t.in->timescale, first->first_pts, first->in->timescale)))
      first = &t;
  for (TrackLayout& t : tracks) {
    if (t.empty()) continue;
    const std::uint32_t ts = t.in->timescale, ts0 = first->in->timescale;
    // (first_pts / ts - t0) in movie ticks, t0 = first->first_pts / ts0.
    const Int128 delay = static_cast<Int128>(t.first_pts) * ts0 - static_cast<Int128>(first->first_pts) * ts;
    const std::uint64_t empty = mul_div_round(delay, kMovieTimescale, static_cast<Int128>(ts) * ts0);
    if (empty > 0) t.edits.push_back({empty, kEmptyEdit});
    t.edits.push_back({mul_div_ceil(t.media_duration, kMovieTimescale, ts), t.media_time});
    for (const Edit& e : t.edits) t.duration += e.segment_duration;
  }
}

// FileTypeBox brands, ISO/IEC 14496-12 §4.3: what FFmpeg's mp4 muxer writes for a progressive
// file (isom, minor_version 512; iso2; mp41), with avc1 only when there is an H.264 track.
std::vector<FourCC> clip_brands(const std::vector<TrackLayout>& tracks) {
  std::vector<FourCC> brands{FourCC{"isom"}, FourCC{"iso2"}};
  const auto avc = [](const TrackLayout& t) { return t.codec.kind == SampleEntryKind::kAvc; };
  if (std::any_of(tracks.begin(), tracks.end(), avc))
    brands.push_back(FourCC{"avc1"});
  brands.push_back(FourCC{"mp41"});
  return brands;
}

// --- the clip's own containers --------------------------------------------------------------

// SampleTableBox, ISO/IEC 14496-12 §8.5.1. `base` is the file offset of the mdat payload.
void write_stbl(ByteWriter& out, const TrackLayout& t, std::uint64_t base) {
  BoxScope box(out, FourCC{"stbl"});
  write_stsd(out, t.codec);
  write_stts(out, t.durations);
  if (std::any_of(t.cts_offsets.begin(), t.cts_offsets.end(), [](std::uint32_t o) { return o != 0; }))
    write_ctts(out, t.cts_offsets);
  // No stss means every sample is a sync sample (§8.6.2.1): audio frames all are.
  if (t.codec.video() && !t.all_sync) write_stss(out, t.sync_numbers);
  write_stsc(out, t.chunk_samples);
  write_stsz(out, t.sizes);
  std::vector<std::uint64_t> offsets;
  offsets.reserve(t.chunk_positions.size());
  for (std::uint64_t p : t.chunk_positions) offsets.push_back(base + p);
  write_chunk_offsets(out, offsets);
}

// MediaInformationBox, ISO/IEC 14496-12 §8.4.4.
void write_minf(ByteWriter& out, const TrackLayout& t, std::uint64_t base) {
  BoxScope box(out, FourCC{"minf"});
  write_media_header(out, *t.in->track);
  write_dinf(out);
  write_stbl(out, t, base);
}

// MediaBox, ISO/IEC 14496-12 §8.4.1.
void write_mdia(ByteWriter& out, const TrackLayout& t, std::uint64_t base) {
  BoxScope box(out, FourCC{"mdia"});
  write_mdhd(out, t.in->timescale, t.media_duration, t.in->track->language);
  write_hdlr(out, *t.in->track);
  write_minf(out, t, base);
}

// TrackBox, ISO/IEC 14496-12 §8.3.1. A track without samples has no edit list.
void write_trak(ByteWriter& out, const TrackLayout& t, std::uint64_t base) {
  BoxScope box(out, FourCC{"trak"});
  write_tkhd(out, *t.in->track, t.in->track_id, t.duration);
  if (!t.edits.empty()) write_edts(out, t.edits);
  write_mdia(out, t, base);
}

// MovieBox, ISO/IEC 14496-12 §8.2.1, of a non-fragmented movie.
void write_moov(ByteWriter& out, const std::vector<TrackLayout>& tracks, std::uint64_t base) {
  BoxScope box(out, FourCC{"moov"});
  std::uint64_t duration = 0;
  std::uint32_t max_id = 0;
  for (const TrackLayout& t : tracks) {
    duration = std::max(duration, t.duration);
    max_id = std::max(max_id, t.in->track_id);
  }
  // next_track_ID: all 1s when no larger id is free (§8.2.2.3).
  write_mvhd(out, kMovieTimescale, duration, max_id == UINT32_MAX ? max_id : max_id + 1);
  for (const TrackLayout& t : tracks) write_trak(out, t, base);
}

}  // namespace

Status write_clip(std::span<const ClipTrack> tracks, ScatterOutput& out) {
  // The same checks, in the same order, as write_init_segment; then the samples.
  if (tracks.empty()) return make_error(Errc::kInvalidValue, 0, "an MP4 clip needs at least one track");
  std::vector<CodecConfig> codecs;
  for (const ClipTrack& in : tracks) {
    KVSMUX_TRY(CodecConfig codec, checked_codec_config(in.track, in.timescale));
    codecs.push_back(std::move(codec));
  }
  std::vector<TrackLayout> layouts;
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    KVSMUX_TRY(TrackLayout t, layout_samples(tracks[i], std::move(codecs[i])));
    layouts.push_back(std::move(t));
  }
  std::vector<ByteSpan> media;
  const std::uint64_t payload_size = place_chunks(layouts, media);
  plan_edits(layouts);

  ByteWriter& w = out.out();
  const std::vector<FourCC> brands = clip_brands(layouts);
  write_ftyp(w, Brands{FourCC{"isom"}, 512, brands});
  ByteWriter dry_run;
  const std::uint64_t mdat_header_size = write_mdat_header(dry_run, payload_size);
  // Chunk offsets depend on the moov's size, and the moov's size on whether they need co64:
  // write it until its size stops changing (twice, or three times when a track switches to
  // co64; the size never shrinks, so this ends).
  ByteWriter moov;
  std::uint64_t moov_size = 0;
  for (;;) {
    moov = ByteWriter{};
    write_moov(moov, layouts, w.size() + moov_size + mdat_header_size);
    if (moov.size() == moov_size) break;
    moov_size = moov.size();
  }
  w.bytes(moov.view());
  write_mdat_header(w, payload_size);
  for (ByteSpan span : media) out.append_input(span);
  out.finish();
  return Ok{};
}

}  // namespace kvsmux::mp4
