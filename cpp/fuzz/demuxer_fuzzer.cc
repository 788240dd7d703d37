// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the Matroska demuxer, whole and in chunks. Besides crashes (ASan,
// UBSan), it fails on any error code the demuxer does not document, on a frame outside
// the input, and on chunked parsing that disagrees with whole-buffer parsing.
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#include "kvsmux/mkv/demuxer.h"
#include "kvsmux/mkv/stream_demuxer.h"

using namespace kvsmux;

namespace {

bool documented(Errc code) {
  switch (code) {
    case Errc::kTruncated: case Errc::kElementOverflow: case Errc::kLimitExceeded: case Errc::kInvalidVint:
    case Errc::kUnexpectedElement: case Errc::kUnknownSizeNotAllowed: case Errc::kInvalidValue:
    case Errc::kMissingElement: case Errc::kBadLacing: case Errc::kUnknownTrack: case Errc::kUnsupportedDocument:
      return true;
    default:
      return false;  // codec errors belong to Track::codec_error, never to the demuxer
  }
}

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input = as_bytes(data, size);
  mkv::Limits limits;
  limits.max_element_size = 1 << 20;  // keep memory per input small

  mkv::Demuxer whole(limits);
  whole.parse(input, 0, true);
  std::size_t fragments = 0, frames = 0;
  for (const mkv::Event& e : whole.take_events()) {
    if (const auto* f = std::get_if<mkv::Fragment>(&e)) {
      ++fragments;
      frames += f->frames.size();
      for (const mkv::Frame& fr : f->frames) require(fr.offset + fr.size <= size, "frame outside the input");
    }
  }
  if (whole.error()) require(documented(whole.error()->code), "undocumented error code");

  // The same input in chunks whose sizes come from the input itself.
  mkv::StreamDemuxer stream(limits);
  std::size_t chunked_fragments = 0, chunked_frames = 0, at = 0, i = 0;
  auto count = [&](const std::vector<mkv::OwnedEvent>& events) {
    for (const mkv::OwnedEvent& o : events)
      if (const auto* f = std::get_if<mkv::Fragment>(&o.event)) {
        ++chunked_fragments;
        chunked_frames += f->frames.size();
      }
  };
  while (at < size) {
    const std::size_t n = std::min<std::size_t>(size - at, 1 + (size ? data[i++ % size] : 0) % 97);
    count(stream.feed(input.subspan(at, n)));
    at += n;
  }
  count(stream.close());
  require(chunked_fragments == fragments && chunked_frames == frames, "chunked and whole parses disagree");
  require(stream.error().has_value() == whole.error().has_value(), "chunked and whole errors disagree");
  if (whole.error()) {
    require(stream.error()->code == whole.error()->code && stream.error()->offset == whole.error()->offset,
            "chunked and whole error differ");
  }
  return 0;
}
