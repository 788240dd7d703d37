// SPDX-License-Identifier: Apache-2.0
// One progressive MP4 file (ftyp, moov, mdat) from a list of fragments: GetClip and `kvsmux repackage --to mp4`.
#pragma once

#include <span>
#include <vector>

#include "kvsmux/media/samples.h"
#include "kvsmux/mkv/types.h"
#include "kvsmux/scatter.h"

namespace kvsmux::mp4 {

/// The samples of one fragment for one track, and the input holding their bytes.
struct ClipPiece {
  ByteSpan input;                          // holds the frame data
  std::uint64_t input_offset = 0;          // absolute offset of input[0]
  std::span<const media::Sample> samples;  // in the track's timescale, decode order
};

struct ClipTrack {
  const mkv::Track* track = nullptr;
  std::uint32_t track_id = 1;
  std::uint32_t timescale = 0;
  std::vector<ClipPiece> pieces;           // fragments in time order
};

/// ftyp + moov (mvhd, trak per track with tkhd, edts/elst, mdia, minf, stbl: stsd, stts,
/// ctts (version 0, decode times shifted so offsets are >= 0; the edit list starts
/// presentation at the clip's first presentation time), stss for video, stsz, stsc,
/// stco or co64) + mdat, with the media appended to `out` by reference. All tracks share
/// one presentation timeline starting at the earliest presentation time of any track, so
/// audio and video stay in sync across fragment boundaries and gaps (a gap lengthens the
/// last sample before it). Codec errors as in write_init_segment.
Status write_clip(std::span<const ClipTrack> tracks, ScatterOutput& out);

}  // namespace kvsmux::mp4
