// SPDX-License-Identifier: Apache-2.0
// STUB: being implemented (issue 3).
#include "kvsmux/mp4/clip.h"
namespace kvsmux::mp4 {
Status write_clip(std::span<const ClipTrack>, ScatterOutput&) { return make_error(Errc::kUnsupportedCodec, 0, "not implemented"); }
}
