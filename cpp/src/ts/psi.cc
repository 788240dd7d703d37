// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/ts/psi.h"

#include <array>

#include "kvsmux/writer.h"

namespace kvsmux::ts {
namespace {

constexpr std::uint8_t kTableIdPat = 0x00;
constexpr std::uint8_t kTableIdPmt = 0x02;
constexpr std::size_t kCrcSize = 4;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i << 24;
    for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

// §2.4.4.1 section header, common to PAT and PMT: table_id, then section_syntax_indicator 1,
// '0', 2 reserved bits and the 12-bit section_length (patched once the section is written),
// then table_id_extension, reserved '11', version_number 0, current_next_indicator 1,
// section_number 0, last_section_number 0.
std::size_t begin_long_section(ByteWriter& w, std::uint8_t table_id, std::uint16_t table_id_extension) {
  w.u8(table_id);
  const std::size_t length_at = w.size();
  w.u16(0xB000);  // '1' '0' '11' + section_length, patched in end_section
  w.u16(table_id_extension);
  w.u8(0xC1);     // reserved '11', version_number 0, current_next_indicator 1
  w.u8(0);        // section_number
  w.u8(0);        // last_section_number
  return length_at;
}

// section_length counts the bytes after it, CRC_32 included; then the CRC over everything.
std::vector<std::byte> end_section(ByteWriter& w, std::size_t length_at) {
  const std::size_t section_length = w.size() - (length_at + 2) + kCrcSize;
  ByteBuffer& b = w.buffer();
  b[length_at] = static_cast<std::byte>(0xB0 | (section_length >> 8));
  b[length_at + 1] = static_cast<std::byte>(section_length & 0xFF);
  w.u32(crc32_mpeg2(w.view()));
  const ByteBuffer section = w.take();
  return {section.begin(), section.end()};
}

}  // namespace

std::uint32_t crc32_mpeg2(ByteSpan data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const std::byte b : data) crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ std::to_integer<std::uint32_t>(b)) & 0xFF];
  return crc;
}

std::vector<std::byte> pat_section(std::uint16_t pmt_pid) {
  // ISO/IEC 13818-1 §2.4.4.3 program_association_section.
  ByteWriter w;
  const std::size_t length_at = begin_long_section(w, kTableIdPat, kTransportStreamId);
  w.u16(kProgramNumber);
  w.u16(static_cast<std::uint16_t>(0xE000 | pmt_pid));  // reserved '111', program_map_PID
  return end_section(w, length_at);
}

std::vector<std::byte> pmt_section(std::uint16_t pcr_pid, std::span<const ProgramStream> streams) {
  // ISO/IEC 13818-1 §2.4.4.8 TS_program_map_section.
  ByteWriter w;
  const std::size_t length_at = begin_long_section(w, kTableIdPmt, kProgramNumber);
  w.u16(static_cast<std::uint16_t>(0xE000 | pcr_pid));  // reserved '111', PCR_PID
  w.u16(0xF000);                                         // reserved '1111', program_info_length 0
  for (const ProgramStream& s : streams) {
    w.u8(s.stream_type);
    w.u16(static_cast<std::uint16_t>(0xE000 | s.pid));  // reserved '111', elementary_PID
    w.u16(0xF000);                                      // reserved '1111', ES_info_length 0
  }
  return end_section(w, length_at);
}

}  // namespace kvsmux::ts
