// SPDX-License-Identifier: Apache-2.0
// The one bounded reader every parser goes through (STYLE §3), and byte ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "kvsmux/status.h"

namespace kvsmux {

using ByteSpan = std::span<const std::byte>;

/// A range of bytes in the input, by absolute offset. Views never outlive their input;
/// ranges can be kept and resolved against the input later.
struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t end() const { return offset + size; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

inline ByteSpan as_bytes(const void* data, std::size_t size) {
  return {static_cast<const std::byte*>(data), size};
}
inline std::string_view as_string_view(ByteSpan s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

/// Reads big-endian integers and slices from a span. Knows its absolute offset in the
/// input for error reports. Every read is checked: running out of bytes is kTruncated.
class ByteReader {
 public:
  ByteReader() = default;
  ByteReader(ByteSpan bytes, std::uint64_t file_offset) : bytes_(bytes), base_(file_offset) {}

  std::uint64_t remaining() const { return bytes_.size() - pos_; }
  std::uint64_t offset() const { return base_ + pos_; }
  std::uint64_t position() const { return pos_; }
  bool empty() const { return pos_ == bytes_.size(); }
  ByteSpan rest() const { return bytes_.subspan(pos_); }

  Result<std::uint8_t> u8() {
    if (remaining() < 1) return truncated(1);
    return std::to_integer<std::uint8_t>(bytes_[pos_++]);
  }
  Result<std::uint16_t> u16() { return be<std::uint16_t>(2); }
  Result<std::uint32_t> u24() { return be<std::uint32_t>(3); }
  Result<std::uint32_t> u32() { return be<std::uint32_t>(4); }
  Result<std::uint64_t> u64() { return be<std::uint64_t>(8); }
  /// An unsigned big-endian integer of `n` bytes (0..8).
  Result<std::uint64_t> uint_n(std::size_t n) { return be<std::uint64_t>(n); }

  /// A zero-copy slice of the next `n` bytes.
  Result<ByteSpan> take(std::uint64_t n) {
    if (remaining() < n) return truncated(n);
    ByteSpan s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  /// A child reader over the next `n` bytes, with the right absolute offset.
  Result<ByteReader> sub(std::uint64_t n) {
    const std::uint64_t at = offset();
    KVSMUX_TRY(ByteSpan s, take(n));
    return ByteReader(s, at);
  }
  Status skip(std::uint64_t n) {
    if (remaining() < n) return truncated(n);
    pos_ += static_cast<std::size_t>(n);
    return Ok{};
  }
  Result<std::uint8_t> peek_u8() const {
    if (remaining() < 1) return make_error(Errc::kTruncated, offset(), "need 1 byte");
    return std::to_integer<std::uint8_t>(bytes_[pos_]);
  }

 private:
  Error truncated(std::uint64_t n) const {
    return make_error(Errc::kTruncated, offset(),
                      "need " + std::to_string(n) + " bytes, have " + std::to_string(remaining()));
  }
  template <typename T>
  Result<T> be(std::size_t n) {
    if (remaining() < n) return truncated(n);
    T v = 0;
    for (std::size_t i = 0; i < n; ++i) v = static_cast<T>((v << 8) | std::to_integer<T>(bytes_[pos_ + i]));
    pos_ += n;
    return v;
  }

  ByteSpan bytes_{};
  std::size_t pos_ = 0;
  std::uint64_t base_ = 0;
};

}  // namespace kvsmux
