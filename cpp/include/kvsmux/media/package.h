// SPDX-License-Identifier: Apache-2.0
// Whole-input repackaging: Matroska in, fMP4 / MPEG-TS / MP4 out, in one pass over the frames.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kvsmux/mkv/types.h"
#include "kvsmux/scatter.h"

namespace kvsmux::media {

enum class Container : std::uint8_t { kFmp4, kTs, kMp4 };

struct PackageOptions {
  Container container = Container::kFmp4;
  std::optional<std::uint64_t> track;        // only this track (HLS fMP4 asks for one at a time)
  std::uint32_t first_sequence_number = 1;   // mfhd sequence number of the first media segment
  mkv::Limits limits{};
};

struct PackagedSegment {
  ScatterOutput output;
  std::uint64_t fragment_index = 0;  // the Matroska fragment it came from (none for init / MP4)
  std::int64_t start_ns = 0;         // earliest presentation time in it
  std::int64_t duration_ns = 0;      // until the next segment's start (or its own samples' end)
};

struct PackageResult {
  std::vector<PackagedSegment> segments;  // fMP4: init first, then one per fragment; TS: one per fragment; MP4: one
  std::vector<std::uint64_t> tracks;      // the track numbers written
  std::vector<std::string> codecs;        // RFC 6381 codec string per written track
};

/// Demuxes `mkv` whole (no copy) and writes it as `options.container`. Fragments without
/// samples of the written tracks produce no segment. Every document in the input must have
/// the same tracks (number, codec id, codec private) as the first: kUnsupportedCodec otherwise.
/// The outputs reference `mkv`, which must outlive them.
Result<PackageResult> package(ByteSpan mkv, const PackageOptions& options);

}  // namespace kvsmux::media
