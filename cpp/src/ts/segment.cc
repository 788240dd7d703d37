// SPDX-License-Identifier: Apache-2.0
// STUB: being implemented (issue 3).
#include "kvsmux/ts/segment.h"
namespace kvsmux::ts {
Status write_segment(std::span<const TrackPes>, ByteSpan, std::uint64_t, Continuity&, ByteWriter&) { return make_error(Errc::kUnsupportedCodec, 0, "not implemented"); }
}
