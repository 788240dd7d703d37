// SPDX-License-Identifier: Apache-2.0
// A tiny ISO BMFF box reader for the writers' round-trip tests (STYLE §5e): a box tree whose
// sizes must tile their parent exactly (a CHECK fails otherwise), and typed field reads
// through the core's ByteReader.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "kvsmux/bytes.h"

namespace mp4_test {

using kvsmux::ByteReader;
using kvsmux::ByteSpan;

struct Box {
  std::string type;
  std::size_t offset = 0;  // in the parsed buffer
  std::size_t size = 0;
  ByteSpan payload;        // after the header
  std::vector<Box> children;
  const Box* child(const std::string& t, std::size_t n = 0) const {
    for (const Box& b : children)
      if (b.type == t && n-- == 0) return &b;
    return nullptr;
  }
  std::size_t count(const std::string& t) const {
    std::size_t n = 0;
    for (const Box& b : children) n += b.type == t;
    return n;
  }
};

// Bytes of fields before the children, for the boxes that hold boxes.
inline const std::map<std::string, std::size_t>& containers() {
  static const std::map<std::string, std::size_t> kContainers = {
      {"moov", 0}, {"trak", 0}, {"mdia", 0}, {"minf", 0}, {"stbl", 0}, {"mvex", 0}, {"moof", 0},
      {"traf", 0}, {"dinf", 0}, {"edts", 0}, {"dref", 8}, {"stsd", 8}, {"avc1", 78}, {"hvc1", 78},
      {"mp4a", 28}, {"alaw", 28}, {"ulaw", 28}};
  return kContainers;
}

inline std::string fourcc_text(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// Every box in data[begin, end); the sizes must tile the range exactly.
inline std::vector<Box> parse_boxes(ByteSpan data, std::size_t begin, std::size_t end) {
  std::vector<Box> out;
  std::size_t pos = begin;
  while (pos < end) {
    CHECK(end - pos >= 8);
    if (end - pos < 8) break;
    ByteReader r(data.subspan(pos, end - pos), pos);
    std::uint64_t size = r.u32().value();
    const std::uint32_t type = r.u32().value();
    std::size_t header = 8;
    if (size == 1) {
      size = r.u64().value();
      header = 16;
    }
    CHECK(size >= header && pos + size <= end);
    if (size < header || pos + size > end) break;
    Box b;
    b.type = fourcc_text(type);
    b.offset = pos;
    b.size = static_cast<std::size_t>(size);
    b.payload = data.subspan(pos + header, b.size - header);
    if (auto it = containers().find(b.type); it != containers().end())
      b.children = parse_boxes(data, pos + header + it->second, pos + b.size);
    pos += b.size;
    out.push_back(std::move(b));
  }
  CHECK_EQ(pos, end);
  return out;
}

inline std::vector<Box> parse_all(ByteSpan data) { return parse_boxes(data, 0, data.size()); }

// The box at a path of types under `root` (its children, their children, ...).
inline const Box* under(const Box& root, const std::vector<std::string>& types) {
  const Box* at = &root;
  for (const std::string& t : types)
    if (at != nullptr) at = at->child(t);
  return at;
}

// The same from a list of top-level boxes: the first type names one of them.
inline const Box* path(const std::vector<Box>& top, const std::vector<std::string>& types) {
  for (const Box& b : top)
    if (b.type == types.front()) return under(b, std::vector<std::string>(types.begin() + 1, types.end()));
  return nullptr;
}

inline ByteReader reader(const Box& b) { return ByteReader(b.payload, b.offset); }

}  // namespace mp4_test
