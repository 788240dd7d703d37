// SPDX-License-Identifier: Apache-2.0
// Fragmented MP4 / CMAF: init segments and media segments (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "kvsmux/media/samples.h"
#include "kvsmux/mkv/types.h"
#include "kvsmux/scatter.h"

namespace kvsmux::mp4 {

/// A track as written into an init segment.
struct TrackInput {
  const mkv::Track* track = nullptr;
  std::uint32_t track_id = 1;   // tkhd/tfhd track_ID (the Matroska track number)
  std::uint32_t timescale = 0;  // media timescale (media::timescale_for)
};

/// ftyp + moov (mvhd, one trak per track, mvex with one trex per track). Codec sample
/// entries: avc1 + avcC and hvc1 + hvcC (the codec private verbatim), mp4a + esds (the
/// AudioSpecificConfig), alaw / ulaw (A_MS/ACM with WAVEFORMATEX format tag 6 / 7).
/// Missing codec private: kMissingCodecPrivate; malformed: kInvalidCodecPrivate;
/// any other codec: kUnsupportedCodec. Deterministic: creation times are 0.
Result<ByteBuffer> write_init_segment(std::span<const TrackInput> tracks);

/// The samples of one track in a media segment.
struct TrackRun {
  std::uint32_t track_id = 1;
  std::uint64_t base_decode_time = 0;      // tfdt, in the track's timescale
  std::span<const media::Sample> samples;  // decode order; offsets are absolute input offsets
};

/// styp + moof (mfhd, one traf per track: tfhd with default-base-is-moof, tfdt version 1,
/// trun) + mdat. The mdat payload is the samples' bytes from `input` (whose first byte is
/// at absolute offset `input_offset`), appended to `out` by reference, track after track.
Status write_media_segment(std::uint32_t sequence_number, std::span<const TrackRun> runs, ByteSpan input,
                           std::uint64_t input_offset, ScatterOutput& out);

/// The RFC 6381 codec string of a track ("avc1.64001f", "hvc1.1.6.L93.B0", "mp4a.40.2",
/// "alaw", "ulaw"); empty when the codec is not supported.
std::string codec_string(const mkv::Track& track);

}  // namespace kvsmux::mp4
