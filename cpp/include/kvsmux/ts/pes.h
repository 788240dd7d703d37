// SPDX-License-Identifier: Apache-2.0
// PES packet headers (ISO/IEC 13818-1 §2.4.3.6) and their 33-bit time stamps.
#pragma once

#include <cstdint>
#include <optional>

#include "kvsmux/ts/packet.h"

namespace kvsmux::ts {

inline constexpr std::uint8_t kStreamIdVideo = 0xE0;  // Table 2-22: video stream number 0
inline constexpr std::uint8_t kStreamIdAudio = 0xC0;  // Table 2-22: audio stream number 0
inline constexpr std::uint64_t kTimestampModulus = std::uint64_t{1} << 33;
inline constexpr std::size_t kMaxPesHeaderSize = 19;  // 9 fixed bytes + PTS + DTS

using PesHeaderWriter = FixedWriter<kMaxPesHeaderSize>;

/// A 90 kHz time reduced to the 33 bits PTS, DTS and the PCR base carry (negative times wrap).
std::uint64_t wrap_33(std::int64_t ticks_90k);

/// ISO/IEC 13818-1 §2.4.3.7: a PTS or DTS in five bytes, `fourbits` ('0010' PTS alone,
/// '0011' PTS followed by a DTS, '0001' DTS) then bits 32..30, 29..15 and 14..0 of the time,
/// each group closed by a marker bit.
void write_pts(PesHeaderWriter& w, std::uint8_t fourbits, std::uint64_t pts_90k);

/// ISO/IEC 13818-1 §2.4.3.6 PES_packet header, up to the end of PES_header_data. The DTS is
/// written only when given and different from the PTS. `pes_packet_length` counts the bytes
/// after the length field (0: unbounded, allowed for video only). data_alignment_indicator
/// is set: every PES starts with an access unit (AUD / ADTS syncword).
PesHeaderWriter pes_header(std::uint8_t stream_id, std::uint16_t pes_packet_length, std::uint64_t pts_90k,
                           std::optional<std::uint64_t> dts_90k);

/// Bytes of the header pes_header writes for these flags (9, 14 or 19).
std::size_t pes_header_size(bool with_dts);

}  // namespace kvsmux::ts
