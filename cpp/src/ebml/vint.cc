// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/ebml/vint.h"

#include <bit>
#include <cstring>
#include <string>

namespace kvsmux::ebml {
namespace {

// RFC 8794 §4.1: the number of leading zero bits of the first byte gives VINT_WIDTH.
int vint_length(std::uint8_t first) { return std::countl_zero(first) + 1; }

}  // namespace

Result<std::uint64_t> read_vint(ByteReader& r, int* length) {
  // RFC 8794 §4: VINT_WIDTH zero bits, VINT_MARKER, VINT_DATA.
  const std::uint64_t at = r.offset();
  KVSMUX_TRY(const std::uint8_t first, r.peek_u8());
  if (first == 0) return make_error(Errc::kInvalidVint, at, "VINT first byte 0x00");
  const int len = vint_length(first);
  KVSMUX_TRY(const std::uint64_t raw, r.uint_n(static_cast<std::size_t>(len)));
  if (length) *length = len;
  return raw & ((std::uint64_t{1} << (7 * len)) - 1);
}

Result<std::uint32_t> read_element_id(ByteReader& r) {
  // RFC 8794 §5: the ID keeps its marker bits; VINT_DATA may be neither all 0 nor all 1.
  const std::uint64_t at = r.offset();
  KVSMUX_TRY(const std::uint8_t first, r.peek_u8());
  if (first == 0) return make_error(Errc::kInvalidVint, at, "element ID first byte 0x00");
  const int len = vint_length(first);
  if (len > kMaxIdLength) return make_error(Errc::kInvalidVint, at, "element ID longer than 4 bytes");
  KVSMUX_TRY(const std::uint64_t raw, r.uint_n(static_cast<std::size_t>(len)));
  const std::uint64_t data = raw & ((std::uint64_t{1} << (7 * len)) - 1);
  if (data == 0 || data == (std::uint64_t{1} << (7 * len)) - 1)
    return make_error(Errc::kInvalidVint, at, "reserved element ID");
  return static_cast<std::uint32_t>(raw);
}

Result<std::uint64_t> read_element_size(ByteReader& r) {
  // RFC 8794 §6.1, §6.2: all VINT_DATA bits set means unknown size, at any width.
  int len = 0;
  KVSMUX_TRY(const std::uint64_t data, read_vint(r, &len));
  if (data == (std::uint64_t{1} << (7 * len)) - 1) return kUnknownSize;
  return data;
}

Result<ElementHeader> read_element_header(ByteReader& r) {
  ElementHeader h;
  h.offset = r.offset();
  KVSMUX_TRY(h.id, read_element_id(r));
  KVSMUX_TRY(h.size, read_element_size(r));
  h.header_size = static_cast<std::uint8_t>(r.offset() - h.offset);
  return h;
}

Result<std::uint64_t> read_uint(ByteSpan data, std::uint64_t offset) {
  // RFC 8794 §7.2: 0 to 8 bytes, big-endian; empty means 0.
  if (data.size() > 8) return make_error(Errc::kInvalidValue, offset, "unsigned integer longer than 8 bytes");
  ByteReader r(data, offset);
  return r.uint_n(data.size());
}

Result<std::int64_t> read_int(ByteSpan data, std::uint64_t offset) {
  // RFC 8794 §7.1: two's complement, 0 to 8 bytes.
  if (data.size() > 8) return make_error(Errc::kInvalidValue, offset, "signed integer longer than 8 bytes");
  ByteReader r(data, offset);
  KVSMUX_TRY(const std::uint64_t raw, r.uint_n(data.size()));
  if (data.empty()) return std::int64_t{0};
  const int bits = static_cast<int>(data.size()) * 8;
  if (bits == 64) return static_cast<std::int64_t>(raw);
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

Result<double> read_float(ByteSpan data, std::uint64_t offset) {
  // RFC 8794 §7.3: 0, 4 or 8 bytes, IEEE 754 big-endian.
  ByteReader r(data, offset);
  if (data.empty()) return 0.0;
  if (data.size() == 4) {
    KVSMUX_TRY(const std::uint32_t bits, r.u32());
    return static_cast<double>(std::bit_cast<float>(bits));
  }
  if (data.size() == 8) {
    KVSMUX_TRY(const std::uint64_t bits, r.u64());
    return std::bit_cast<double>(bits);
  }
  return make_error(Errc::kInvalidValue, offset, "float of " + std::to_string(data.size()) + " bytes");
}

}  // namespace kvsmux::ebml
