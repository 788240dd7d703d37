// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/ts/packetizer.h"

#include <algorithm>

namespace kvsmux::ts {
namespace {

constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kPcrSize = 6;
constexpr std::uint8_t kPayloadOnly = 0x1;           // adaptation_field_control '01': payload only
constexpr std::uint8_t kAdaptationAndPayload = 0x3;  // '11': adaptation field, then payload
constexpr std::uint8_t kRandomAccessIndicator = 0x40;
constexpr std::uint8_t kPcrFlag = 0x10;

// §2.4.3.2 transport_packet() header: sync_byte; transport_error_indicator 0,
// payload_unit_start_indicator, transport_priority 0, PID; transport_scrambling_control 00,
// adaptation_field_control, continuity_counter (incremented: every packet here has payload).
void write_header(PacketWriter& w, std::uint16_t pid, bool unit_start, bool adaptation_field,
                  std::uint8_t& continuity_counter) {
  w.u8(kSyncByte);
  w.u16(static_cast<std::uint16_t>((unit_start ? 0x4000 : 0) | (pid & 0x1FFF)));
  w.u8(static_cast<std::uint8_t>((adaptation_field ? kAdaptationAndPayload : kPayloadOnly) << 4 |
                                 (continuity_counter & 0x0F)));
  continuity_counter = static_cast<std::uint8_t>((continuity_counter + 1) & 0x0F);
}

// The next packet of `out`, written in place: the segment buffer grows by exactly one packet.
PacketWriter next_packet(ByteWriter& out) {
  ByteBuffer& buf = out.buffer();
  buf.resize(buf.size() + kPacketSize);
  return PacketWriter(buf.data() + buf.size() - kPacketSize);
}

// Every packet is written whole: a short one would be a size computed wrongly.
void finish_packet(const PacketWriter& w) {
  if (!w.full()) std::abort();
}

// Consecutive pieces read as one payload.
class Gather {
 public:
  explicit Gather(std::span<const ByteSpan> pieces) : pieces_(pieces) {
    for (const ByteSpan p : pieces) remaining_ += p.size();
  }
  std::size_t remaining() const { return remaining_; }
  void copy_to(PacketWriter& w, std::size_t n) {
    remaining_ -= n;
    while (n > 0) {
      const ByteSpan piece = pieces_[index_];
      const std::size_t take = std::min(n, piece.size() - at_);
      w.bytes(piece.subspan(at_, take));
      n -= take;
      at_ += take;
      if (at_ == piece.size()) ++index_, at_ = 0;
    }
  }

 private:
  std::span<const ByteSpan> pieces_;
  std::size_t index_ = 0, at_ = 0, remaining_ = 0;
};

}  // namespace

void write_pcr(PacketWriter& w, std::uint64_t pcr_27mhz) {
  // ISO/IEC 13818-1 §2.4.3.5, in the shape of FFmpeg's mpegtsenc write_pcr_bits().
  const std::uint64_t pcr_low = pcr_27mhz % 300, pcr_high = pcr_27mhz / 300;
  w.u32(static_cast<std::uint32_t>(pcr_high >> 1));
  w.u8(static_cast<std::uint8_t>(pcr_high << 7 | pcr_low >> 8 | 0x7E));
  w.u8(static_cast<std::uint8_t>(pcr_low));
}

void write_pes_packets(ByteWriter& out, std::span<const ByteSpan> payload, std::uint16_t pid,
                       std::optional<std::uint64_t> pcr_27mhz, bool random_access,
                       std::uint8_t& continuity_counter) {
  // §2.4.3.4 adaptation_field(): in the first packet for the random access indicator and the
  // PCR; in the last one, stuffing bytes fill the packet when the payload runs out.
  Gather data(payload);
  bool first = true;
  while (first || data.remaining() > 0) {
    const bool flags = first && (pcr_27mhz || random_access);
    // adaptation_field_length: the bytes after it. 0 is a 1-byte field (one byte of stuffing).
    std::size_t field_length = flags ? 1 + (pcr_27mhz ? kPcrSize : 0) : 0;
    bool has_field = flags;
    const std::size_t space = kPacketSize - kHeaderSize - (has_field ? 1 + field_length : 0);
    if (data.remaining() < space) {
      const std::size_t stuffing = space - data.remaining();
      field_length = has_field ? field_length + stuffing : stuffing - 1;
      has_field = true;
    }
    PacketWriter w = next_packet(out);
    write_header(w, pid, first, has_field, continuity_counter);
    if (has_field) {
      w.u8(static_cast<std::uint8_t>(field_length));
      if (field_length > 0) {
        const bool pcr = flags && pcr_27mhz.has_value();
        // discontinuity 0, random_access_indicator, ES priority 0, PCR_flag, no OPCR, splice, private data, extension
        w.u8(static_cast<std::uint8_t>((flags && random_access ? kRandomAccessIndicator : 0) | (pcr ? kPcrFlag : 0)));
        if (pcr) write_pcr(w, *pcr_27mhz);
        w.fill(0xFF, field_length - 1 - (pcr ? kPcrSize : 0));  // stuffing_byte
      }
    }
    data.copy_to(w, w.remaining());
    finish_packet(w);
    first = false;
  }
}

void write_section_packets(ByteWriter& out, ByteSpan section, std::uint16_t pid, std::uint8_t& continuity_counter) {
  bool first = true;
  while (first || !section.empty()) {
    PacketWriter w = next_packet(out);
    write_header(w, pid, first, false, continuity_counter);
    if (first) w.u8(0);  // pointer_field: the section starts right after it
    const std::size_t take = std::min(section.size(), w.remaining());
    w.bytes(section.first(take));
    section = section.subspan(take);
    w.fill(0xFF, w.remaining());
    finish_packet(w);
    first = false;
  }
}

}  // namespace kvsmux::ts
