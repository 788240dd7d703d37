// SPDX-License-Identifier: Apache-2.0
// A checked fixed-size writer for transport stream packets and the headers inside them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kvsmux/bytes.h"

namespace kvsmux::ts {

/// Big-endian writes into a fixed buffer of N bytes (one 188-byte packet, one PES header):
/// its own, or N bytes of the caller's (packets are written in place into the segment).
/// The callers compute every size before writing, so running past N is a programmer error:
/// it terminates, in release builds too, rather than write out of bounds.
template <std::size_t N>
class FixedWriter {
 public:
  FixedWriter() : dst_(own_.data()) {}
  /// Writes in place into `dest`, which must hold N bytes.
  explicit FixedWriter(std::byte* dest) : dst_(dest) {}
  FixedWriter(const FixedWriter& o) : own_(o.own_), dst_(o.owning() ? own_.data() : o.dst_), pos_(o.pos_) {}
  FixedWriter& operator=(const FixedWriter& o) {
    own_ = o.own_;
    dst_ = o.owning() ? own_.data() : o.dst_;
    pos_ = o.pos_;
    return *this;
  }

  void u8(std::uint8_t v) {
    reserve(1);
    dst_[pos_++] = static_cast<std::byte>(v);
  }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(ByteSpan b) {
    reserve(b.size());
    if (!b.empty()) std::memcpy(dst_ + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  void fill(std::uint8_t v, std::size_t n) {
    reserve(n);
    std::memset(dst_ + pos_, v, n);
    pos_ += n;
  }

  std::size_t size() const { return pos_; }
  std::size_t remaining() const { return N - pos_; }
  bool full() const { return pos_ == N; }
  ByteSpan view() const { return ByteSpan(dst_, pos_); }

 private:
  bool owning() const { return dst_ == own_.data(); }
  void reserve(std::size_t n) {
    if (n > N - pos_) std::abort();  // a size computed wrongly: never write out of bounds
  }
  std::array<std::byte, N> own_{};
  std::byte* dst_;
  std::size_t pos_ = 0;
};

}  // namespace kvsmux::ts
