// SPDX-License-Identifier: Apache-2.0
#include "check.h"
#include "kvsmux/ebml/elements.h"
#include "kvsmux/ebml/vint.h"

using namespace kvsmux;
using check::bytes;

TEST_CASE(unknown_size_at_every_length) {
  // RFC 8794 §6.2: all VINT_DATA bits set is "unknown", whatever the width.
  for (int len = 1; len <= 8; ++len) {
    std::vector<std::byte> b(static_cast<std::size_t>(len), std::byte{0xFF});
    b[0] = static_cast<std::byte>(0xFF >> (len - 1));  // marker bit + all ones
    ByteReader r(b, 0);
    auto size = ebml::read_element_size(r);
    CHECK(size.ok());
    CHECK_EQ(size.value(), ebml::kUnknownSize);
  }
}

TEST_CASE(sizes_decode) {
  auto b = bytes({0x81,                     // 1-byte size 1
                  0x40, 0x02,               // 2-byte size 2
                  0x01, 0, 0, 0, 0, 0, 1, 0x00});  // 8-byte size 256
  ByteReader r(b, 100);
  CHECK_EQ(ebml::read_element_size(r).value(), 1u);
  CHECK_EQ(ebml::read_element_size(r).value(), 2u);
  CHECK_EQ(ebml::read_element_size(r).value(), 256u);
  CHECK(r.empty());
}

TEST_CASE(zero_first_byte_is_invalid) {
  auto b = bytes({0x00, 0x81});
  ByteReader r(b, 7);
  auto s = ebml::read_element_size(r);
  CHECK(!s.ok());
  CHECK(s.error().code == Errc::kInvalidVint);
  CHECK_EQ(s.error().offset, 7u);
}

TEST_CASE(element_ids) {
  auto b = bytes({0x1A, 0x45, 0xDF, 0xA3,   // ID 0x1A45DFA3 (EBML)
                  0xFF,                     // reserved ID (all ones)
                  0x80,                     // reserved ID (all zeros)
                  0x08, 0x01, 0x02, 0x03, 0x04});  // 5-byte ID: too long for Matroska
  ByteReader r(b, 0);
  CHECK_EQ(ebml::read_element_id(r).value(), ebml::id::kEBML);
  auto reserved_ones = ebml::read_element_id(r);
  CHECK(!reserved_ones.ok() && reserved_ones.error().code == Errc::kInvalidVint);
  auto reserved_zero = ebml::read_element_id(r);
  CHECK(!reserved_zero.ok() && reserved_zero.error().code == Errc::kInvalidVint);
  auto too_long = ebml::read_element_id(r);
  CHECK(!too_long.ok() && too_long.error().code == Errc::kInvalidVint);
}

TEST_CASE(truncated_header_is_truncated) {
  auto b = bytes({0x1F, 0x43, 0xB6});  // first 3 bytes of the Cluster ID
  ByteReader r(b, 0);
  auto h = ebml::read_element_header(r);
  CHECK(!h.ok() && h.error().code == Errc::kTruncated);
}

TEST_CASE(values) {
  auto i = bytes({0xFF, 0xFE});  // -2 as a 2-byte signed integer
  CHECK_EQ(ebml::read_int(i, 0).value(), -2);
  auto f4 = bytes({0x47, 0x3B, 0x80, 0x00});  // 48000.0f
  CHECK_EQ(ebml::read_float(f4, 0).value(), 48000.0);
  auto f3 = bytes({0, 0, 0});
  CHECK(!ebml::read_float(f3, 0).ok());
  std::vector<std::byte> nine(9, std::byte{1});
  CHECK(ebml::read_uint(nine, 0).error().code == Errc::kInvalidValue);
}

TEST_CASE(generated_table_is_sorted_and_complete) {
  for (std::size_t i = 1; i < ebml::kElementCount; ++i) CHECK(ebml::kElements[i - 1].id < ebml::kElements[i].id);
  const ebml::ElementSpec* block = ebml::find_element(ebml::id::kSimpleBlock);
  CHECK(block && block->parent_id == ebml::id::kCluster && block->name == "SimpleBlock");
  const ebml::ElementSpec* cluster = ebml::find_element(ebml::id::kCluster);
  CHECK(cluster && cluster->unknown_size_allowed && cluster->depth == 1);
  CHECK(ebml::find_element(ebml::id::kVoid)->global);
  CHECK(ebml::find_element(0x303030) == nullptr);
  CHECK(ebml::find_element(ebml::id::kSimpleTag)->recursive);
}

TEST_MAIN()
