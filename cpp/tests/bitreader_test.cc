// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/codec/bitreader.h"

#include "check.h"

using kvsmux::Errc;
using kvsmux::codec::BitReader;
using kvsmux::codec::remove_emulation_prevention;

TEST_CASE(reads_fixed_width_fields_across_bytes) {
  const auto data = check::bytes({0xa5, 0x3c, 0xff, 0x00, 0x12});  // 1010 0101 0011 1100 ...
  BitReader bits(data, 100);
  CHECK_EQ(bits.u(0).value(), 0u);
  CHECK_EQ(bits.u(3).value(), 0b101u);
  CHECK_EQ(bits.flag().value(), false);
  CHECK_EQ(bits.u(8).value(), 0b01010011u);  // straddles the first byte boundary
  CHECK_EQ(bits.byte_offset(), 101u);
  CHECK_EQ(bits.bits_left(), 28u);
  CHECK_EQ(bits.u(28).value(), 0xcff0012u);
  CHECK_EQ(bits.bits_left(), 0u);
}

TEST_CASE(reads_32_bits) {
  const auto data = check::bytes({0xde, 0xad, 0xbe, 0xef});
  BitReader bits(data, 0);
  CHECK_EQ(bits.u(32).value(), 0xdeadbeefu);
}

TEST_CASE(running_out_is_an_error_at_the_next_unread_byte) {
  const auto data = check::bytes({0xff, 0xff});
  BitReader bits(data, 40);
  CHECK(bits.u(12).ok());
  const auto r = bits.u(5);
  CHECK(!r.ok());
  CHECK(r.error().code == Errc::kInvalidCodecPrivate);
  CHECK_EQ(r.error().offset, 41u);
  CHECK_EQ(r.error().detail, std::string("bitstream ended early"));
  CHECK_EQ(bits.bits_left(), 4u);  // a failed read consumes nothing
  CHECK(!bits.skip(5).ok());
  CHECK(bits.skip(4).ok());
  CHECK(!bits.flag().ok());
  CHECK(!bits.ue().ok());
}

TEST_CASE(reads_exp_golomb_codes) {
  // ue: 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3, 0001000 -> 7; packed: 1010 0110 0100 0001 000(0 0000)
  const auto ue_data = check::bytes({0xa6, 0x41, 0x00});
  BitReader ue_bits(ue_data, 0);
  CHECK_EQ(ue_bits.ue().value(), 0u);
  CHECK_EQ(ue_bits.ue().value(), 1u);
  CHECK_EQ(ue_bits.ue().value(), 2u);
  CHECK_EQ(ue_bits.ue().value(), 3u);
  CHECK_EQ(ue_bits.ue().value(), 7u);
  // se: 1 -> 0, 010 -> 1, 011 -> -1, 00100 -> 2, 00101 -> -2; packed: 1010 0110 0100 0010 1(000)
  const auto se_data = check::bytes({0xa6, 0x42, 0x80});
  BitReader se_bits(se_data, 0);
  CHECK_EQ(se_bits.se().value(), 0);
  CHECK_EQ(se_bits.se().value(), 1);
  CHECK_EQ(se_bits.se().value(), -1);
  CHECK_EQ(se_bits.se().value(), 2);
  CHECK_EQ(se_bits.se().value(), -2);
}

TEST_CASE(reads_the_longest_exp_golomb_codes) {
  // 31 zero bits, a one, 31 one bits: 2^32 - 2, the largest ue(v) (H.264 §9.1).
  const auto max_ue = check::bytes({0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xfe});
  BitReader bits(max_ue, 0);
  CHECK_EQ(bits.ue().value(), 0xfffffffeu);
  BitReader signed_bits(max_ue, 0);
  CHECK_EQ(signed_bits.se().value(), -2147483647);
  // 32 zero bits: longer than any valid code.
  const auto too_long = check::bytes({0x00, 0x00, 0x00, 0x00, 0x80});
  BitReader long_bits(too_long, 10);
  const auto r = long_bits.ue();
  CHECK(!r.ok());
  CHECK_EQ(r.error().detail, std::string("exp-Golomb code longer than 32 bits"));
  CHECK_EQ(r.error().offset, 14u);
  // A code cut short.
  const auto cut = check::bytes({0x00, 0x01});  // 15 zeros, a one, then nothing
  BitReader cut_bits(cut, 0);
  CHECK(!cut_bits.ue().ok());
}

TEST_CASE(removes_emulation_prevention_bytes) {
  std::vector<std::byte> out;
  remove_emulation_prevention(check::bytes({0x00, 0x00, 0x03, 0x01}), out);
  CHECK(out == check::bytes({0x00, 0x00, 0x01}));
  remove_emulation_prevention(check::bytes({0x00, 0x00, 0x03, 0x00, 0x00, 0x03}), out);
  CHECK(out == check::bytes({0x00, 0x00, 0x00, 0x00}));  // counting restarts after each 03
  remove_emulation_prevention(check::bytes({0x00, 0x00, 0x00, 0x03, 0x02}), out);
  CHECK(out == check::bytes({0x00, 0x00, 0x00, 0x02}));
  remove_emulation_prevention(check::bytes({0x00, 0x00, 0x03, 0x03}), out);
  CHECK(out == check::bytes({0x00, 0x00, 0x03}));  // only the first 03 is an escape
  remove_emulation_prevention(check::bytes({0x00, 0x03, 0x00, 0x03, 0x12}), out);
  CHECK(out == check::bytes({0x00, 0x03, 0x00, 0x03, 0x12}));  // one zero is not enough
  remove_emulation_prevention({}, out);
  CHECK(out.empty());
}

TEST_MAIN()
