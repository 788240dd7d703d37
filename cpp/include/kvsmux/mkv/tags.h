// SPDX-License-Identifier: Apache-2.0
// Segment-level Tags (RFC 9559 §5.1.8): KVS fragment numbers, timestamps and producer metadata.
#pragma once

#include "kvsmux/mkv/types.h"

namespace kvsmux::mkv {

/// Reads every SimpleTag of every Tag in a complete Tags element. Nested SimpleTags are
/// flattened depth-first; nesting deeper than `limits.max_depth` is kLimitExceeded.
Result<TagsElement> parse_tags(ByteReader data, ByteRange range, const Limits& limits);

}  // namespace kvsmux::mkv
