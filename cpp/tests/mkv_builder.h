// SPDX-License-Identifier: Apache-2.0
// Builds small Matroska inputs for the demuxer tests, element by element.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvsmux/ebml/elements.h"

namespace test_mkv {

using Bytes = std::vector<std::byte>;
namespace ids = kvsmux::ebml::id;

inline void put_id(Bytes& out, std::uint32_t id) {
  int n = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::byte>(id >> (8 * i)));
}
inline void put_size(Bytes& out, std::uint64_t size) {  // always 8 bytes: 0x01 + 7 bytes
  out.push_back(std::byte{0x01});
  for (int i = 6; i >= 0; --i) out.push_back(static_cast<std::byte>(size >> (8 * i)));
}
inline Bytes element(std::uint32_t id, const Bytes& data) {
  Bytes out;
  put_id(out, id);
  put_size(out, data.size());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}
inline Bytes unknown_size(std::uint32_t id, const Bytes& data) {
  Bytes out;
  put_id(out, id);
  out.push_back(std::byte{0xFF});  // 1-byte all-ones size: unknown
  out.insert(out.end(), data.begin(), data.end());
  return out;
}
inline Bytes uint_el(std::uint32_t id, std::uint64_t v) {
  Bytes d;
  for (int i = 7; i >= 0; --i) d.push_back(static_cast<std::byte>(v >> (8 * i)));
  return element(id, d);
}
inline Bytes str_el(std::uint32_t id, const std::string& s) {
  Bytes d;
  for (char c : s) d.push_back(static_cast<std::byte>(c));
  return element(id, d);
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline Bytes ebml_header() { return element(ids::kEBML, cat({str_el(ids::kDocType, "matroska")})); }
inline Bytes tracks(std::initializer_list<std::uint64_t> numbers) {
  Bytes entries;
  for (std::uint64_t n : numbers) {
    Bytes e = element(ids::kTrackEntry, cat({uint_el(ids::kTrackNumber, n), uint_el(ids::kTrackType, 1),
                                             str_el(ids::kCodecID, "V_TEST")}));
    entries.insert(entries.end(), e.begin(), e.end());
  }
  return element(ids::kTracks, entries);
}
// SimpleBlock body: track VINT, int16 timestamp, flags, payload.
inline Bytes simple_block(std::uint8_t track, std::int16_t ts, std::uint8_t flags, const Bytes& payload) {
  Bytes d{static_cast<std::byte>(0x80 | track), static_cast<std::byte>(static_cast<std::uint16_t>(ts) >> 8),
          static_cast<std::byte>(ts & 0xFF), static_cast<std::byte>(flags)};
  d.insert(d.end(), payload.begin(), payload.end());
  return element(ids::kSimpleBlock, d);
}
inline Bytes tags(const std::string& name, const std::string& value) {
  return element(ids::kTags, element(ids::kTag, element(ids::kSimpleTag, cat({str_el(ids::kTagName, name),
                                                                               str_el(ids::kTagString, value)}))));
}

}  // namespace test_mkv
