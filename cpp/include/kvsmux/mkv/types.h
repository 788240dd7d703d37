// SPDX-License-Identifier: Apache-2.0
// What the Matroska demuxer reports: document headers, fragments (clusters), frames, tags.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kvsmux/bytes.h"
#include "kvsmux/status.h"

namespace kvsmux::mkv {

inline constexpr std::int64_t kUnknownDuration = -1;

/// RFC 9559 §5.1.4.1.3 TrackType values used here.
enum class TrackType : std::uint8_t { kVideo = 1, kAudio = 2, kComplex = 3, kLogo = 16, kSubtitle = 17,
                                      kButtons = 18, kControl = 19, kMetadata = 33 };

/// What a track's codec private says (H.264/H.265 SPS, AAC AudioSpecificConfig).
/// Zero means "not known"; `parsed` tells whether a parser understood the codec private.
struct CodecSummary {
  bool parsed = false;
  std::string codec_string;           // RFC 6381, e.g. avc1.64001f, hvc1.1.6.L93.B0, mp4a.40.2
  std::uint32_t profile = 0;          // profile_idc / general_profile_idc / audio object type
  std::uint32_t level = 0;            // level_idc / general_level_idc
  std::uint32_t width = 0, height = 0;
  std::uint32_t sample_rate = 0, channels = 0;
  std::uint32_t nal_length_size = 0;  // AVCC/HVCC NAL unit length field size
};

/// RFC 9559 §5.1.4.1 TrackEntry.
struct Track {
  std::uint64_t number = 0;
  std::uint64_t uid = 0;
  std::uint8_t type = 0;
  std::string codec_id;
  ByteRange codec_private{};          // absolute range in the input; size 0 when absent
  std::vector<std::byte> codec_private_bytes;
  std::uint64_t default_duration_ns = 0;  // 0 when absent
  std::uint64_t codec_delay_ns = 0;       // CodecDelay: decoder output to discard (Opus pre-skip)
  std::uint64_t seek_pre_roll_ns = 0;     // SeekPreRoll
  std::string name;
  std::string language;
  std::uint64_t pixel_width = 0, pixel_height = 0;
  double sampling_frequency = 0.0;
  std::uint64_t channels = 0, bit_depth = 0;
  CodecSummary codec;
  std::optional<Error> codec_error;   // why `codec` could not be filled in
};

/// One SimpleTag (RFC 9559 §5.1.8.1.2), flattened: nested SimpleTags follow their parent.
struct SimpleTag {
  std::string name;
  std::optional<std::string> string;          // TagString
  std::optional<std::vector<std::byte>> binary;  // TagBinary
};

/// One segment-level Tags element.
struct TagsElement {
  ByteRange range{};
  std::vector<SimpleTag> simple_tags;
};

/// One EBML document's header: EBML header, Segment start, Info, Tracks and whatever else
/// precedes the first Cluster (SeekHead, Void, producer Tags). Its bytes are what GetMedia
/// copies in front of every fragment.
struct Header {
  std::uint32_t index = 0;            // 0 for the first document in the input
  ByteRange range{};                  // EBML header start .. first Cluster (or document end)
  ByteRange segment{};                // the Segment element; size = kUnknownSize if unknown
  std::uint64_t segment_data_offset = 0;
  std::string doc_type;
  std::uint64_t doc_type_version = 0, doc_type_read_version = 0;
  std::uint64_t timestamp_scale_ns = 1'000'000;
  double duration = -1.0;             // Info Duration in TimestampScale units; -1 when absent
  std::string muxing_app, writing_app, title;
  std::vector<Track> tracks;
  const Track* find_track(std::uint64_t number) const {
    for (const Track& t : tracks) if (t.number == number) return &t;
    return nullptr;
  }
};

/// One frame (a SimpleBlock, a Block, or one lace of either). Laid out for numpy.
struct Frame {
  std::uint64_t offset;      // absolute offset of the frame data
  std::int64_t pts_ns;       // (cluster Timestamp + block timestamp) × TimestampScale
  std::int64_t duration_ns;  // BlockDuration, lace share, or DefaultDuration; -1 when unknown
  std::uint32_t size;        // bytes of frame data
  std::uint32_t track;       // track number
  bool key;                  // SimpleBlock keyframe flag; Block without ReferenceBlock
  bool invisible;
  bool discardable;
  std::uint8_t lace;         // index of the frame within its laced block, 0 when not laced
};

/// One Cluster: the unit KVS calls a fragment.
struct Fragment {
  std::uint64_t index = 0;            // 0-based over the whole input
  std::uint32_t header_index = 0;     // the Header this cluster belongs to
  std::uint64_t timestamp_ticks = 0;  // Cluster Timestamp, in TimestampScale units
  std::int64_t timestamp_ns = 0;
  ByteRange range{};                  // the whole Cluster element (end = where it stopped)
  bool unknown_size = false;
  bool truncated = false;             // input ended inside it: `frames` are the complete ones
  std::vector<Frame> frames;
  std::vector<TagsElement> tags_before;  // Tags between the previous Cluster (or the header) and this one
};

/// Tags that follow a fragment (`fragment_index`), or belong to none (-1: a document
/// without clusters).
struct TagsEvent {
  std::int64_t fragment_index = -1;
  TagsElement tags;
};

using Event = std::variant<Header, Fragment, TagsEvent>;

/// Named limits, so hostile input cannot make parsing slow or huge (STYLE §3).
struct Limits {
  std::uint64_t max_element_size = 64ull << 20;    // any element read whole (Info, Tracks, Tags, blocks)
  std::uint64_t max_cluster_size = 512ull << 20;   // one fragment's bytes
  std::uint32_t max_frames_per_cluster = 200'000;
  std::uint32_t max_tracks = 64;
  std::uint32_t max_depth = 32;                    // nested SimpleTags
  std::uint32_t max_lace_count = 256;              // the format's own maximum
  std::uint64_t max_work_per_byte = 16;            // parse steps per input byte, plus a base
  std::uint64_t work_base = 1 << 16;
};

}  // namespace kvsmux::mkv
