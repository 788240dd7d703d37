// SPDX-License-Identifier: Apache-2.0
// Big-endian output: the typed helpers every box, descriptor and packet writer uses (STYLE §5d).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "kvsmux/buffer.h"
#include "kvsmux/bytes.h"

namespace kvsmux {

/// A four-character code, e.g. FourCC{"moof"}.
struct FourCC {
  char c[4];
  constexpr FourCC(const char (&s)[5]) : c{s[0], s[1], s[2], s[3]} {}  // NOLINT(google-explicit-constructor)
  constexpr std::uint32_t value() const {
    return (std::uint32_t{static_cast<std::uint8_t>(c[0])} << 24) | (std::uint32_t{static_cast<std::uint8_t>(c[1])} << 16) |
           (std::uint32_t{static_cast<std::uint8_t>(c[2])} << 8) | std::uint32_t{static_cast<std::uint8_t>(c[3])};
  }
};

/// A place written earlier whose value is known only later (a size, a data offset).
template <typename T>
struct Slot {
  std::size_t at = 0;
};

/// Appends big-endian integers and bytes to a growing buffer. Never fails.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u24(std::uint32_t v) { be(v, 3); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void i16(std::int16_t v) { u16(static_cast<std::uint16_t>(v)); }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void fourcc(FourCC f) { u32(f.value()); }
  void bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void text(std::string_view s) { bytes(as_bytes(s.data(), s.size())); }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }

  template <typename T>
  Slot<T> reserve() {
    Slot<T> s{out_.size()};
    zeros(sizeof(T));
    return s;
  }
  void patch(Slot<std::uint32_t> s, std::uint32_t v) { put(s.at, v, 4); }
  void patch(Slot<std::int32_t> s, std::int32_t v) { put(s.at, static_cast<std::uint32_t>(v), 4); }
  void patch(Slot<std::uint64_t> s, std::uint64_t v) { put(s.at, v, 8); }

  std::size_t size() const { return out_.size(); }
  ByteSpan view() const { return out_; }
  ByteBuffer& buffer() { return out_; }
  ByteBuffer take() { return std::move(out_); }

 private:
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  void put(std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_[at + i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
  }
  ByteBuffer out_;
};

}  // namespace kvsmux
