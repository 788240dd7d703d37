// SPDX-License-Identifier: Apache-2.0
// Payloads to 188-byte transport stream packets (ISO/IEC 13818-1 §2.4.3.2).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "kvsmux/bytes.h"
#include "kvsmux/ts/packet.h"
#include "kvsmux/ts/segment.h"
#include "kvsmux/writer.h"

namespace kvsmux::ts {

inline constexpr std::uint8_t kSyncByte = 0x47;
using PacketWriter = FixedWriter<kPacketSize>;

/// ISO/IEC 13818-1 §2.4.3.5: program_clock_reference in six bytes: a 33-bit base (90 kHz),
/// 6 reserved bits, a 9-bit extension (27 MHz remainder). `pcr_27mhz` is base × 300 + extension.
void write_pcr(PacketWriter& w, std::uint64_t pcr_27mhz);

/// One PES packet (header and payload, given as consecutive pieces) as transport packets on
/// `pid`. The first packet has payload_unit_start_indicator set and, when asked for, an
/// adaptation field with the random_access_indicator and the PCR; the last one is filled to
/// 188 bytes with adaptation-field stuffing (0xFF). `continuity_counter` is the PID's next
/// continuity_counter; every packet carries payload, so each one increments it (mod 16).
void write_pes_packets(ByteWriter& out, std::span<const ByteSpan> payload, std::uint16_t pid,
                       std::optional<std::uint64_t> pcr_27mhz, bool random_access,
                       std::uint8_t& continuity_counter);

/// One PSI section as transport packets on `pid`: a pointer_field of 0 before it, and 0xFF
/// bytes after it in the last packet's payload (§2.4.4.1, stuffing bytes after a section).
void write_section_packets(ByteWriter& out, ByteSpan section, std::uint16_t pid, std::uint8_t& continuity_counter);

}  // namespace kvsmux::ts
