// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/ts/pes.h"

namespace kvsmux::ts {

std::uint64_t wrap_33(std::int64_t ticks_90k) {
  // Two's complement makes the low 33 bits of a negative time its value mod 2^33.
  return static_cast<std::uint64_t>(ticks_90k) & (kTimestampModulus - 1);
}

void write_pts(PesHeaderWriter& w, std::uint8_t fourbits, std::uint64_t pts_90k) {
  // ISO/IEC 13818-1 §2.4.3.7, in the shape of FFmpeg's mpegtsenc write_pts().
  w.u8(static_cast<std::uint8_t>(fourbits << 4 | ((pts_90k >> 30) & 0x07) << 1 | 1));
  w.u16(static_cast<std::uint16_t>(((pts_90k >> 15) & 0x7FFF) << 1 | 1));
  w.u16(static_cast<std::uint16_t>((pts_90k & 0x7FFF) << 1 | 1));
}

std::size_t pes_header_size(bool with_dts) { return 9 + 5 + (with_dts ? 5 : 0); }

PesHeaderWriter pes_header(std::uint8_t stream_id, std::uint16_t pes_packet_length, std::uint64_t pts_90k,
                           std::optional<std::uint64_t> dts_90k) {
  // ISO/IEC 13818-1 §2.4.3.6 PES_packet().
  const bool with_dts = dts_90k && *dts_90k != pts_90k;
  PesHeaderWriter w;
  w.u8(0x00);  // packet_start_code_prefix 0x000001
  w.u16(0x0001);
  w.u8(stream_id);
  w.u16(pes_packet_length);
  w.u8(0x84);  // '10', PES_scrambling_control 00, PES_priority 0, data_alignment_indicator 1, copyright 0, original 0
  w.u8(with_dts ? 0xC0 : 0x80);  // PTS_DTS_flags '11' or '10'; no ESCR, ES_rate, trick mode, copy info, CRC, extension
  w.u8(static_cast<std::uint8_t>(pes_header_size(with_dts) - 9));  // PES_header_data_length
  write_pts(w, with_dts ? 0x3 : 0x2, pts_90k);
  if (with_dts) write_pts(w, 0x1, *dts_90k);
  return w;
}

}  // namespace kvsmux::ts
