// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mkv/tags.h"

#include <string>

#include "kvsmux/ebml/children.h"

namespace kvsmux::mkv {
namespace ids = ebml::id;
using ebml::ElementHeader;
using ebml::for_each_child;
using ebml::with_path;

namespace {

Status parse_simple_tag(ByteReader data, const Limits& limits, std::uint32_t depth, std::vector<SimpleTag>& out) {
  // RFC 9559 §5.1.8.1.2 SimpleTag: TagName, TagString or TagBinary, nested SimpleTags.
  if (depth > limits.max_depth)
    return make_error(Errc::kLimitExceeded, data.offset(), "SimpleTag nesting deeper than " + std::to_string(limits.max_depth));
  const std::size_t self = out.size();
  out.emplace_back();
  std::size_t nested = 0;
  return for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    switch (h.id) {
      case ids::kTagName: out[self].name.assign(as_string_view(v)); break;
      case ids::kTagString: out[self].string.emplace(as_string_view(v)); break;
      case ids::kTagBinary: out[self].binary.emplace(v.begin(), v.end()); break;
      case ids::kSimpleTag: {
        Status s = parse_simple_tag(ByteReader(v, h.data_offset()), limits, depth + 1, out);
        if (!s.ok()) return with_path(s.take_error(), "SimpleTag[" + std::to_string(nested) + "]");
        ++nested;
        break;
      }
      default: break;
    }
    return Ok{};
  });
}

}  // namespace

Result<TagsElement> parse_tags(ByteReader data, ByteRange range, const Limits& limits) {
  // RFC 9559 §5.1.8 Tags > Tag > (Targets, SimpleTag...). Targets are not kept.
  TagsElement tags;
  tags.range = range;
  std::size_t tag_index = 0;
  KVSMUX_CHECK(for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    if (h.id != ids::kTag) return Ok{};
    const std::string where = "Tag[" + std::to_string(tag_index++) + "]";
    std::size_t simple_index = 0;
    Status s = for_each_child(ByteReader(v, h.data_offset()), [&](const ElementHeader& c, ByteSpan cv) -> Status {
      if (c.id != ids::kSimpleTag) return Ok{};
      Status st = parse_simple_tag(ByteReader(cv, c.data_offset()), limits, 1, tags.simple_tags);
      if (!st.ok()) return with_path(st.take_error(), "SimpleTag[" + std::to_string(simple_index) + "]");
      ++simple_index;
      return Ok{};
    });
    if (!s.ok()) return with_path(s.take_error(), where);
    return Ok{};
  }));
  return tags;
}

}  // namespace kvsmux::mkv
