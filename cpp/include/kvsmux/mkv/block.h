// SPDX-License-Identifier: Apache-2.0
// SimpleBlock and Block, with Xiph, EBML and fixed lacing (RFC 9559 §10, §10.3).
#pragma once

#include <vector>

#include "kvsmux/mkv/types.h"

namespace kvsmux::mkv {

/// What the surrounding BlockGroup adds to a Block (RFC 9559 §5.1.3.5).
struct BlockGroupInfo {
  bool has_duration = false;
  std::uint64_t duration_ticks = 0;   // BlockDuration, in TimestampScale units
  bool has_reference = false;         // any ReferenceBlock: not a keyframe
};

/// Appends the frames of one block to `out`. `simple` selects SimpleBlock flag semantics;
/// for a Block, `group` gives BlockDuration and ReferenceBlock. Timestamps become ns with
/// the header's TimestampScale; a block for an undeclared track is kUnknownTrack.
Status parse_block(ByteReader data, bool simple, const BlockGroupInfo& group,
                   std::uint64_t cluster_timestamp_ticks, const Header& header,
                   const Limits& limits, std::vector<Frame>& out);

}  // namespace kvsmux::mkv
