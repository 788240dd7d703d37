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

/// Big-endian writes into a fixed buffer of N bytes (one 188-byte packet, one PES header).
/// The callers compute every size before writing, so running past N is a programmer error:
/// it terminates, in release builds too, rather than write out of bounds.
template <std::size_t N>
class FixedWriter {
 public:
  void u8(std::uint8_t v) {
    reserve(1);
    buf_[pos_++] = static_cast<std::byte>(v);
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
    if (!b.empty()) std::memcpy(buf_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  void fill(std::uint8_t v, std::size_t n) {
    reserve(n);
    std::memset(buf_.data() + pos_, v, n);
    pos_ += n;
  }

  std::size_t size() const { return pos_; }
  std::size_t remaining() const { return N - pos_; }
  bool full() const { return pos_ == N; }
  ByteSpan view() const { return ByteSpan(buf_.data(), pos_); }

 private:
  void reserve(std::size_t n) {
    if (n > N - pos_) std::abort();  // a size computed wrongly: never write out of bounds
  }
  std::array<std::byte, N> buf_{};
  std::size_t pos_ = 0;
};

}  // namespace kvsmux::ts
