// SPDX-License-Identifier: Apache-2.0
// A bounded MSB-first bit reader for codec headers (SPS, AudioSpecificConfig), and the
// removal of H.264/H.265 emulation-prevention bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvsmux/bytes.h"
#include "kvsmux/status.h"

namespace kvsmux::codec {

/// The largest cropped picture width or height the SPS parsers accept: VisualSampleEntry
/// (ISO/IEC 14496-12 §12.1.3) stores them in 16 bits.
inline constexpr std::uint32_t kMaxPictureDimension = 65535;

/// Reads bits most-significant first. Every read is checked: running out of bits, or an
/// exp-Golomb code longer than 32 bits, is an Errc::kInvalidCodecPrivate error at the
/// absolute offset of the byte holding the next unread bit.
class BitReader {
 public:
  /// `file_offset` is the absolute offset of bytes[0] in the input, for error reports.
  BitReader(ByteSpan bytes, std::uint64_t file_offset) : bytes_(bytes), base_(file_offset) {}

  /// u(n) for n in 0..32.
  Result<std::uint32_t> u(int n);
  /// u(8) as a byte.
  Result<std::uint8_t> byte();
  /// u(1) as a bool.
  Result<bool> flag();
  /// ue(v): unsigned exp-Golomb, at most 31 leading zero bits (values up to 2^32 - 2).
  Result<std::uint32_t> ue();
  /// se(v): signed exp-Golomb, mapped from ue(v) as 1, -1, 2, -2, ...
  Result<std::int32_t> se();
  Status skip(std::uint64_t n);

  std::uint64_t bits_left() const { return bytes_.size() * 8 - pos_; }
  /// The absolute offset of the byte holding the next unread bit.
  std::uint64_t byte_offset() const { return base_ + pos_ / 8; }

 private:
  Error ended_early() const;

  ByteSpan bytes_;
  std::uint64_t base_ = 0;
  std::uint64_t pos_ = 0;  // in bits
};

/// Turns a NAL unit payload into its RBSP by dropping each emulation_prevention_three_byte
/// (00 00 03 -> 00 00; ITU-T H.264 §7.4.1, H.265 §7.4.2). `out` is cleared first.
void remove_emulation_prevention(ByteSpan nal_payload, std::vector<std::byte>& out);

/// Maps ByteReader's kTruncated into kInvalidCodecPrivate with a fixed detail, keeping the
/// offset: a configuration record that ends early is malformed codec private data.
template <typename T>
Result<T> invalid_if_truncated(Result<T> r, std::string_view detail) {
  if (r.ok()) return r;
  return make_error(Errc::kInvalidCodecPrivate, r.error().offset, std::string(detail));
}

/// Rewrites an error from a bit-level parse: `prefix` is put before its detail and, when
/// `nal_start` is given, its offset becomes the NAL unit start (RBSP bit positions are not
/// input positions once emulation-prevention bytes are gone).
template <typename T>
Result<T> with_context(Result<T> r, std::string_view prefix,
                       std::optional<std::uint64_t> nal_start = std::nullopt) {
  if (r.ok()) return r;
  Error e = r.take_error();
  e.detail = std::string(prefix) + e.detail;
  if (nal_start) e.offset = *nal_start;
  return e;
}

}  // namespace kvsmux::codec
