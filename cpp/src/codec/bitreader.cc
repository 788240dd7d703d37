// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/bitreader.h"

#include <cassert>

namespace kvsmux::codec {

Error BitReader::ended_early() const {
  return make_error(Errc::kInvalidCodecPrivate, byte_offset(), "bitstream ended early");
}

Result<std::uint32_t> BitReader::u(int n) {
  assert(n >= 0 && n <= 32);  // a programmer error, not a data error
  if (bits_left() < static_cast<std::uint64_t>(n)) return ended_early();
  std::uint64_t value = 0;
  for (int i = 0; i < n; ++i, ++pos_) {
    const auto byte = std::to_integer<std::uint32_t>(bytes_[pos_ / 8]);
    value = (value << 1) | ((byte >> (7 - pos_ % 8)) & 1U);
  }
  return static_cast<std::uint32_t>(value);
}

Result<std::uint8_t> BitReader::byte() {
  KVSMUX_TRY(const std::uint32_t value, u(8));
  return static_cast<std::uint8_t>(value);
}

Result<bool> BitReader::flag() {
  KVSMUX_TRY(const std::uint32_t bit, u(1));
  return bit == 1;
}

// ITU-T H.264 §9.1 / H.265 §9.2: leading zero bits, a one, then as many suffix bits.
Result<std::uint32_t> BitReader::ue() {
  int leading_zeros = 0;
  while (true) {
    KVSMUX_TRY(const bool one, flag());
    if (one) break;
    if (++leading_zeros > 31)
      return make_error(Errc::kInvalidCodecPrivate, byte_offset(), "exp-Golomb code longer than 32 bits");
  }
  KVSMUX_TRY(const std::uint32_t suffix, u(leading_zeros));
  return static_cast<std::uint32_t>((std::uint64_t{1} << leading_zeros) - 1 + suffix);
}

// ITU-T H.264 §9.1.1: k -> (-1)^(k+1) * Ceil(k / 2).
Result<std::int32_t> BitReader::se() {
  KVSMUX_TRY(const std::uint32_t k, ue());
  const auto magnitude = static_cast<std::int32_t>((std::uint64_t{k} + 1) / 2);
  return (k % 2 == 1) ? magnitude : -magnitude;
}

Status BitReader::skip(std::uint64_t n) {
  if (bits_left() < n) return ended_early();
  pos_ += n;
  return Ok{};
}

void remove_emulation_prevention(ByteSpan nal_payload, std::vector<std::byte>& out) {
  out.clear();
  out.reserve(nal_payload.size());
  int zeros = 0;
  for (const std::byte b : nal_payload) {
    if (zeros >= 2 && b == std::byte{0x03}) {
      zeros = 0;
      continue;
    }
    zeros = (b == std::byte{0x00}) ? zeros + 1 : 0;
    out.push_back(b);
  }
}

}  // namespace kvsmux::codec
