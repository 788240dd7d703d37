// SPDX-License-Identifier: Apache-2.0
// fMP4/CMAF segments (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19): the init segment from the
// tracks, a media segment from each fragment's samples. The boxes are in init.cc,
// sample_entry.cc and fragment.cc.
#include "kvsmux/mp4/fmp4.h"

#include <cstdint>
#include <string>

#include "kvsmux/mp4/boxes.h"

namespace kvsmux::mp4 {
namespace {

// Every sample's bytes must lie inside `input` (absolute offsets; input[0] is at `input_offset`).
Status check_samples(std::span<const TrackRun> runs, ByteSpan input, std::uint64_t input_offset,
                     std::uint64_t& payload_size) {
  payload_size = 0;
  for (const TrackRun& run : runs) {
    for (const media::Sample& s : run.samples) {
      if (s.offset < input_offset || s.offset - input_offset > input.size() ||
          s.size > input.size() - (s.offset - input_offset))
        return make_error(Errc::kTruncated, s.offset,
                          "sample of " + std::to_string(s.size) + " bytes is outside the input");
      payload_size += s.size;
    }
  }
  return Ok{};
}

// Appends the samples' bytes by reference, one span per run of adjacent samples (laced
// frames are adjacent in the input, so a lace becomes one span).
void append_samples(std::span<const TrackRun> runs, ByteSpan input, std::uint64_t input_offset, ScatterOutput& out) {
  std::uint64_t start = 0, end = 0;  // relative to input[0]; empty when start == end
  for (const TrackRun& run : runs) {
    for (const media::Sample& s : run.samples) {
      const std::uint64_t at = s.offset - input_offset;
      if (at != end || start == end) {
        if (start != end) out.append_input(input.subspan(start, end - start));
        start = at;
      }
      end = at + s.size;
    }
  }
  if (start != end) out.append_input(input.subspan(start, end - start));
}

}  // namespace

Result<ByteBuffer> write_init_segment(std::span<const TrackInput> tracks) {
  if (tracks.empty()) return make_error(Errc::kInvalidValue, 0, "an init segment needs at least one track");
  std::vector<InitTrack> init;
  for (const TrackInput& in : tracks) {
    KVSMUX_TRY(CodecConfig codec, checked_codec_config(in.track, in.timescale));
    init.push_back({in.track, in.track_id, in.timescale, std::move(codec)});
  }
  ByteWriter out;
  write_ftyp(out, fmp4_brands(init.size()));
  write_moov(out, init);
  return out.take();
}

Status write_media_segment(std::uint32_t sequence_number, std::span<const TrackRun> runs, ByteSpan input,
                           std::uint64_t input_offset, ScatterOutput& out) {
  std::uint64_t payload_size = 0;
  KVSMUX_CHECK(check_samples(runs, input, input_offset, payload_size));
  ByteWriter& w = out.out();
  write_styp(w, segment_brands());
  const std::size_t moof_start = w.size();
  const std::vector<Slot<std::int32_t>> data_offsets = write_moof(w, sequence_number, runs);
  write_mdat_header(w, payload_size);
  // default-base-is-moof: each trun's data_offset is its first sample's distance from the
  // first byte of the moof; the tracks' data follow each other in the mdat.
  std::uint64_t data_offset = w.size() - moof_start;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (data_offset > INT32_MAX)
      return make_error(Errc::kLimitExceeded, runs[i].samples.empty() ? 0 : runs[i].samples.front().offset,
                        "trun data_offset " + std::to_string(data_offset) + " does not fit 32 bits");
    w.patch(data_offsets[i], static_cast<std::int32_t>(data_offset));
    for (const media::Sample& s : runs[i].samples) data_offset += s.size;
  }
  append_samples(runs, input, input_offset, out);
  out.finish();
  return Ok{};
}

std::string codec_string(const mkv::Track& track) {
  Result<CodecConfig> codec = codec_config(track);
  return codec.ok() ? codec->codec_string : std::string();
}

}  // namespace kvsmux::mp4
