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
#include "kvsmux/mkv/types.h"

namespace mp4_test {

using kvsmux::ByteReader;
using kvsmux::ByteSpan;

struct Box {
  std::string type;
  std::size_t offset = 0;  // in the parsed buffer
  std::size_t size = 0;
  std::size_t header = 8;  // 16 with a largesize
  ByteSpan payload;        // after the header; empty for an mdat whose payload is not in the buffer
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

// Every box in data[begin, end); the sizes must tile the range exactly. `end` may lie past
// the data for an mdat whose payload was not flattened (only its header is read).
inline std::vector<Box> parse_boxes(ByteSpan data, std::size_t begin, std::size_t end) {
  std::vector<Box> out;
  std::size_t pos = begin;
  while (pos < end) {
    CHECK(end - pos >= 8 && data.size() >= pos + 8);
    if (end - pos < 8 || data.size() < pos + 8) break;
    ByteReader r(data.subspan(pos, std::min<std::size_t>(16, data.size() - pos)), pos);
    std::uint64_t size = r.u32().value();
    const std::uint32_t type = r.u32().value();
    Box b;
    if (size == 1) {
      size = r.u64().value();
      b.header = 16;
    }
    CHECK(size >= b.header && pos + size <= end);
    if (size < b.header || pos + size > end) break;
    b.type = fourcc_text(type);
    b.offset = pos;
    b.size = static_cast<std::size_t>(size);
    if (pos + b.size <= data.size()) b.payload = data.subspan(pos + b.header, b.size - b.header);
    if (auto it = containers().find(b.type); it != containers().end())
      b.children = parse_boxes(data, pos + b.header + it->second, pos + b.size);
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

inline const Box* under(const Box* root, const std::vector<std::string>& types) {
  return root != nullptr ? under(*root, types) : nullptr;
}

// The same from a list of top-level boxes: the first type names one of them.
inline const Box* path(const std::vector<Box>& top, const std::vector<std::string>& types) {
  for (const Box& b : top)
    if (b.type == types.front()) return under(b, std::vector<std::string>(types.begin() + 1, types.end()));
  return nullptr;
}

inline ByteReader reader(const Box& b) { return ByteReader(b.payload, b.offset); }

// --- test inputs -------------------------------------------------------------------------

inline std::vector<std::byte> hex(const char* text) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; text[i] && text[i + 1]; i += 2)
    out.push_back(static_cast<std::byte>(std::stoi(std::string(text + i, 2), nullptr, 16)));
  return out;
}

// The avcC and AudioSpecificConfig of tests/data/valid/h264_aac.mkv (160x120 High@1.1, AAC LC
// 48 kHz mono), the hvcC of h265_aac.mkv, and the WAVEFORMATEX of h264_alaw.mkv (A-law, 8 kHz mono).
inline constexpr const char* kAvcC =
    "0164000bffe100196764000bacb41423f2e022000003000200000300781e28554001000468ef0fcbfdf8f800";
inline constexpr const char* kAlawFormat = "06000100401f0000401f0000010008000000";

// A Matroska track with a codec private given in hex, placed at offset 1000 x number.
inline kvsmux::mkv::Track track(std::uint64_t number, std::uint8_t type, const char* codec_id, const char* cp) {
  kvsmux::mkv::Track t;
  t.number = number;
  t.type = type;
  t.codec_id = codec_id;
  t.codec_private_bytes = hex(cp);
  t.codec_private = {1000 * number, t.codec_private_bytes.size()};
  return t;
}

}  // namespace mp4_test
