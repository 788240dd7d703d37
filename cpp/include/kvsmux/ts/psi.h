// SPDX-License-Identifier: Apache-2.0
// Program-specific information (ISO/IEC 13818-1 §2.4.4): the PAT and PMT sections and their CRC.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kvsmux/bytes.h"

namespace kvsmux::ts {

inline constexpr std::uint16_t kPatPid = 0x0000;
inline constexpr std::uint16_t kProgramNumber = 1;
inline constexpr std::uint16_t kTransportStreamId = 1;

/// ISO/IEC 13818-1 Table 2-34 stream_type values written here.
inline constexpr std::uint8_t kStreamTypeAacAdts = 0x0F;  // ISO/IEC 13818-7 audio with ADTS transport
inline constexpr std::uint8_t kStreamTypeH264 = 0x1B;
inline constexpr std::uint8_t kStreamTypeH265 = 0x24;

/// One elementary stream of the program.
struct ProgramStream {
  std::uint8_t stream_type = 0;
  std::uint16_t pid = 0;
};

/// The CRC of PSI sections (ISO/IEC 13818-1 Annex A): polynomial 0x04C11DB7, MSB first,
/// initial value 0xFFFFFFFF, no final XOR. A section followed by its CRC gives 0.
std::uint32_t crc32_mpeg2(ByteSpan data);

/// ISO/IEC 13818-1 §2.4.4.3 program_association_section: one program, its PMT on `pmt_pid`.
std::vector<std::byte> pat_section(std::uint16_t pmt_pid);

/// ISO/IEC 13818-1 §2.4.4.8 TS_program_map_section for program 1, version 0, no descriptors.
std::vector<std::byte> pmt_section(std::uint16_t pcr_pid, std::span<const ProgramStream> streams);

}  // namespace kvsmux::ts
