// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mkv/getmedia_chunk.h"

#include <array>

#include "kvsmux/ebml/elements.h"
#include "kvsmux/ebml/vint.h"

namespace kvsmux::mkv {
namespace ids = ebml::id;
namespace {

// An element with a 4-byte size field (0x10 marker + 3 bytes), as in KVS's own Tags.
class Element4 {
 public:
  Element4(ByteWriter& out, std::uint32_t id) : out_(out) {
    if (id > 0xFFFFFF) out.u32(id);
    else if (id > 0xFFFF) out.u24(id);
    else if (id > 0xFF) out.u16(static_cast<std::uint16_t>(id));
    else out.u8(static_cast<std::uint8_t>(id));
    size_ = out.reserve<std::uint32_t>();
    start_ = out.size();
  }
  ~Element4() { out_.patch(size_, 0x10000000u | static_cast<std::uint32_t>(out_.size() - start_)); }

 private:
  ByteWriter& out_;
  Slot<std::uint32_t> size_;
  std::size_t start_;
};

void write_simple_tag(ByteWriter& out, std::string_view name, std::string_view value) {
  // RFC 9559 §5.1.8.1.2 SimpleTag with TagName and TagString only.
  Element4 simple(out, ids::kSimpleTag);
  {
    Element4 n(out, ids::kTagName);
    out.text(name);
  }
  Element4 v(out, ids::kTagString);
  out.text(value);
}

}  // namespace

std::string format_kvs_timestamp(std::int64_t ms) {
  const bool negative = ms < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  std::string frac = std::to_string(magnitude % 1000);
  frac.insert(0, 3 - frac.size(), '0');
  return (negative ? "-" : "") + std::to_string(magnitude / 1000) + "." + frac;
}

void write_kvs_tags(ByteWriter& out, std::span<const std::pair<std::string_view, std::string>> tags) {
  // RFC 9559 §5.1.8 Tags > Tag > SimpleTag...; KVS writes no Targets.
  Element4 tags_element(out, ids::kTags);
  Element4 tag(out, ids::kTag);
  for (const auto& [name, value] : tags) write_simple_tag(out, name, value);
}

void write_getmedia_error_tags(ByteWriter& out, std::string_view fragment_number, int error_id, std::string_view error_code) {
  const std::pair<std::string_view, std::string> tags[] = {
      {"AWS_KINESISVIDEO_FRAGMENT_NUMBER", std::string(fragment_number)},
      {"AWS_KINESISVIDEO_ERROR_ID", std::to_string(error_id)},
      {"AWS_KINESISVIDEO_ERROR_CODE", std::string(error_code)},
  };
  write_kvs_tags(out, tags);
}

Status write_getmedia_chunk(ByteSpan header, ByteSpan cluster, std::span<const ByteSpan> tags_after,
                            const ChunkTags& tags, ScatterOutput& out) {
  // KVS-WIRE-FACTS §5.2. Find the Segment's size field: it becomes unknown (all ones).
  ByteReader r(header, 0);
  auto ebml = ebml::read_element_header(r);
  if (!ebml.ok() || ebml->id != ids::kEBML || ebml->unknown_size() || !r.skip(ebml->size).ok())
    return make_error(Errc::kUnexpectedElement, 0, "fragment header does not start with an EBML header");
  const std::uint64_t segment_at = r.offset();
  auto segment_id = ebml::read_element_id(r);
  const std::uint64_t size_at = r.offset();
  auto segment_size = ebml::read_element_size(r);
  if (!segment_id.ok() || segment_id.value() != ids::kSegment || !segment_size.ok())
    return make_error(Errc::kUnexpectedElement, segment_at, "fragment header has no Segment after its EBML header");
  const std::size_t width = static_cast<std::size_t>(r.offset() - size_at);
  out.append_input(header.first(static_cast<std::size_t>(size_at)));
  out.out().u8(static_cast<std::uint8_t>(0xFF >> (width - 1)));  // marker bit and all-ones data
  for (std::size_t i = 1; i < width; ++i) out.out().u8(0xFF);
  out.append_input(header.subspan(static_cast<std::size_t>(r.offset())));

  const std::pair<std::string_view, std::string> before[] = {
      {"AWS_KINESISVIDEO_FRAGMENT_NUMBER", tags.fragment_number},
      {"AWS_KINESISVIDEO_SERVER_TIMESTAMP", format_kvs_timestamp(tags.server_timestamp_ms)},
      {"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", format_kvs_timestamp(tags.producer_timestamp_ms)},
  };
  write_kvs_tags(out.out(), before);
  out.append_input(cluster);
  for (ByteSpan t : tags_after) out.append_input(t);
  std::vector<std::pair<std::string_view, std::string>> after;
  if (tags.millis_behind_now) after.emplace_back("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", std::to_string(*tags.millis_behind_now));
  if (tags.continuation_token) after.emplace_back("AWS_KINESISVIDEO_CONTINUATION_TOKEN", *tags.continuation_token);
  if (!after.empty()) write_kvs_tags(out.out(), after);
  out.finish();
  return Ok{};
}

}  // namespace kvsmux::mkv
