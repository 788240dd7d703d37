// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: MKV -> fMP4, MPEG-TS and MP4 (media::package). Besides crashes (ASan,
// UBSan), it fails on an undocumented error code and on output whose pieces do not add up
// or whose media pieces point outside the input (STYLE §13).
#include <cstdio>
#include <cstdlib>

#include "kvsmux/media/package.h"

using namespace kvsmux;

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void check(ByteSpan input, media::Container container) {
  media::PackageOptions options;
  options.container = container;
  options.limits.max_element_size = 1 << 20;
  auto result = media::package(input, options);
  if (!result.ok()) {
    require(result.error().code < Errc::kCount, "error code outside the table");
    return;
  }
  for (const media::PackagedSegment& seg : result->segments) {
    std::size_t total = 0;
    for (const ScatterOutput::Piece& p : seg.output.pieces()) {
      total += p.size;
      if (!p.generated)
        require(p.input.data() >= input.data() && p.input.data() + p.size <= input.data() + input.size(),
                "a media piece outside the input");
    }
    require(total == seg.output.size(), "pieces do not add up to the output size");
    require(seg.output.flatten().size() == total, "flattened size differs");
    if (container == media::Container::kTs) require(total % 188 == 0, "TS output not in 188-byte packets");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input = as_bytes(data, size);
  check(input, media::Container::kFmp4);
  check(input, media::Container::kTs);
  check(input, media::Container::kMp4);
  return 0;
}
