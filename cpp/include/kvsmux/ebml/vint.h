// SPDX-License-Identifier: Apache-2.0
// EBML variable-size integers and element headers (RFC 8794 §4, §5, §6).
#pragma once

#include <cstdint>
#include <limits>

#include "kvsmux/bytes.h"
#include "kvsmux/status.h"

namespace kvsmux::ebml {

/// The size of an element whose size field is all ones, of any length (RFC 8794 §6.2).
inline constexpr std::uint64_t kUnknownSize = std::numeric_limits<std::uint64_t>::max();
/// Matroska limits IDs to 4 bytes (EBMLMaxIDLength) and sizes to 8 (EBMLMaxSizeLength).
inline constexpr int kMaxIdLength = 4;
inline constexpr int kMaxSizeLength = 8;

struct ElementHeader {
  std::uint32_t id = 0;             // with its marker bits, as written (0x1A45DFA3)
  std::uint64_t offset = 0;         // absolute offset of the first ID byte
  std::uint8_t header_size = 0;     // ID + size field, in bytes
  std::uint64_t size = 0;           // data size, or kUnknownSize
  bool unknown_size() const { return size == kUnknownSize; }
  std::uint64_t data_offset() const { return offset + header_size; }
  /// Absolute end of the element; kUnknownSize when the size is unknown.
  std::uint64_t end() const { return unknown_size() ? kUnknownSize : data_offset() + size; }
};

/// RFC 8794 §5: an Element ID. 0x00 as a first byte, an ID longer than 4 bytes, and the
/// reserved all-zero and all-one values are kInvalidVint. Running out of bytes is kTruncated.
Result<std::uint32_t> read_element_id(ByteReader& r);

/// RFC 8794 §6: an Element Data Size. All-ones data of any length gives kUnknownSize.
Result<std::uint64_t> read_element_size(ByteReader& r);

/// The ID and size at the reader's position.
Result<ElementHeader> read_element_header(ByteReader& r);

/// RFC 8794 §4: a VINT used as a number (block track numbers, EBML lace sizes). `length`
/// receives its encoded length. All-ones values are returned as they are.
Result<std::uint64_t> read_vint(ByteReader& r, int* length = nullptr);

/// RFC 8794 §7.2, §7.3, §7.4: element values, from an element's whole data.
Result<std::uint64_t> read_uint(ByteSpan data, std::uint64_t offset);
Result<std::int64_t> read_int(ByteSpan data, std::uint64_t offset);
Result<double> read_float(ByteSpan data, std::uint64_t offset);

}  // namespace kvsmux::ebml
