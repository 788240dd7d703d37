// SPDX-License-Identifier: Apache-2.0
// STUB: being implemented (issue 3).
#include "kvsmux/mp4/fmp4.h"
namespace kvsmux::mp4 {
Result<std::vector<std::byte>> write_init_segment(std::span<const TrackInput>) { return make_error(Errc::kUnsupportedCodec, 0, "not implemented"); }
Status write_media_segment(std::uint32_t, std::span<const TrackRun>, ByteSpan, std::uint64_t, ScatterOutput&) { return make_error(Errc::kUnsupportedCodec, 0, "not implemented"); }
std::string codec_string(const mkv::Track&) { return {}; }
}
