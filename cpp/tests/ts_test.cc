// SPDX-License-Identifier: Apache-2.0
// MPEG-TS writer: PSI CRC, PES time stamps, the packetizer, Annex B and ADTS, whole segments.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "kvsmux/ts/annexb.h"
#include "kvsmux/ts/packetizer.h"
#include "kvsmux/ts/pes.h"
#include "kvsmux/ts/psi.h"
#include "kvsmux/ts/segment.h"

using kvsmux::ByteSpan;
using kvsmux::ByteWriter;
using kvsmux::Errc;
using namespace kvsmux::ts;

namespace {

using Bytes = std::vector<std::byte>;

Bytes to_bytes(ByteSpan s) { return Bytes(s.begin(), s.end()); }
bool same(ByteSpan a, const Bytes& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes joined(const std::vector<ByteSpan>& pieces) {
  Bytes out;
  for (const ByteSpan p : pieces) out.insert(out.end(), p.begin(), p.end());
  return out;
}
int at(const Bytes& b, std::size_t i) { return std::to_integer<int>(b[i]); }

// The SPS and PPS of ../shared/media/kvs-producer-c/h264SampleFrames/frame-001.h264 (x264,
// High, 640x480), the same bytes as h264_test.cc's kSps640x480, in an avcC record.
const Bytes kSps = check::bytes({0x67, 0x64, 0x00, 0x1e, 0xac, 0xb2, 0x01, 0x40, 0x7b, 0x60, 0x2d, 0x41, 0x80,
                                 0x41, 0x50, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x28, 0xf1,
                                 0x62, 0xe4, 0x80});
const Bytes kPps = check::bytes({0x68, 0xeb, 0xcc, 0xb2, 0x2c});
Bytes avcc() {
  return cat({check::bytes({0x01, 0x64, 0x00, 0x1e,  // version 1, High, compatibility 0, level 30
                            0xff,                    // lengthSizeMinusOne 3
                            0xe1, 0x00, 0x1d}),      // 1 SPS of 29 bytes
              kSps, check::bytes({0x01, 0x00, 0x05}), kPps});
}

}  // namespace

TEST_CASE(pat_section_and_its_crc_match_ffmpeg) {
  // FFmpeg's mpegts muxer writes this PAT (transport_stream_id 1, program 1, PMT PID 0x1000).
  const Bytes pat = pat_section(0x1000);
  CHECK((pat == check::bytes({
      0x00,              // table_id 0 (program_association_section)
      0xB0, 0x0D,        // section_syntax_indicator 1, '0', '11', section_length 13
      0x00, 0x01,        // transport_stream_id 1
      0xC1, 0x00, 0x00,  // version 0, current_next 1; section_number 0, last_section_number 0
      0x00, 0x01,        // program_number 1
      0xF0, 0x00,        // reserved '111', program_map_PID 0x1000
      0x2A, 0xB1, 0x04, 0xB2,  // CRC_32
  })));
  CHECK_EQ(crc32_mpeg2(pat), 0u);  // a section followed by its CRC gives 0 (Annex A)
  CHECK_EQ(crc32_mpeg2(ByteSpan(pat).first(12)), 0x2AB104B2u);
}

TEST_CASE(pmt_section_lists_streams_and_the_pcr_pid) {
  const ProgramStream streams[] = {{kStreamTypeH264, 0x100}, {kStreamTypeAacAdts, 0x101}};
  const Bytes pmt = pmt_section(0x100, streams);
  CHECK_EQ(pmt.size(), 3u + 9 + 2 * 5 + 4);
  CHECK_EQ(at(pmt, 0), 0x02);                                     // table_id
  CHECK_EQ((at(pmt, 1) & 0x0F) << 8 | at(pmt, 2), 9 + 10 + 4);    // section_length
  CHECK_EQ(at(pmt, 8), 0xE1);                                     // PCR_PID 0x100
  CHECK_EQ(at(pmt, 9), 0x00);
  CHECK_EQ(at(pmt, 12), 0x1B);                                    // stream_type H.264
  CHECK_EQ(at(pmt, 17), 0x0F);                                    // stream_type AAC ADTS
  CHECK_EQ(at(pmt, 19), 0x01);                                    // elementary_PID 0x101 (low byte)
  CHECK_EQ(crc32_mpeg2(pmt), 0u);
}

TEST_CASE(pts_encoding_matches_a_hand_computed_vector) {
  // 0x123456789 = bits 32..30 '100', 29..15 0x468A, 14..0 0x6789; each group ends in a marker.
  PesHeaderWriter w;
  write_pts(w, 0x2, 0x123456789);
  CHECK((same(w.view(), check::bytes({0x29, 0x8D, 0x15, 0xCF, 0x13}))));
  CHECK_EQ(wrap_33(-1), (std::uint64_t{1} << 33) - 1);
  CHECK_EQ(wrap_33((std::int64_t{1} << 33) + 5), 5u);
}

TEST_CASE(pes_header_writes_dts_only_when_it_differs) {
  const PesHeaderWriter both = pes_header(kStreamIdVideo, 0, 126'000 + 3003, 126'000);
  CHECK((same(both.view(), check::bytes({
      0x00, 0x00, 0x01, 0xE0,  // packet_start_code_prefix, stream_id
      0x00, 0x00,              // PES_packet_length 0 (unbounded video)
      0x84, 0xC0, 0x0A,        // '10' data_alignment_indicator; PTS_DTS_flags '11'; header length 10
      0x31, 0x00, 0x07, 0xEF, 0xD7,  // '0011' PTS 129003
      0x11, 0x00, 0x07, 0xD8, 0x61,  // '0001' DTS 126000
  }))));
  const PesHeaderWriter pts_only = pes_header(kStreamIdAudio, 100, 126'000, 126'000);
  CHECK((same(pts_only.view(), check::bytes({0x00, 0x00, 0x01, 0xC0, 0x00, 0x64, 0x84, 0x80, 0x05,
                                                0x21, 0x00, 0x07, 0xD8, 0x61}))));
  CHECK_EQ(pes_header_size(true), 19u);
}

TEST_CASE(pcr_encoding_matches_a_hand_computed_vector) {
  PacketWriter w;
  write_pcr(w, 0x123456789ull * 300 + 0x12B);  // base 0x123456789, extension 299
  CHECK((same(w.view(), check::bytes({
      0x91, 0xA2, 0xB3, 0xC4,  // base bits 32..1
      0xFF,                    // base bit 0, 6 reserved '1' bits, extension bit 8
      0x2B,                    // extension bits 7..0
  }))));
}

TEST_CASE(packetizer_counts_continuity_and_stuffs_the_last_packet) {
  Bytes payload(200);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i);
  const ByteSpan pieces[] = {ByteSpan(payload).first(50), ByteSpan(payload).subspan(50)};
  ByteWriter out;
  std::uint8_t cc = 14;
  write_pes_packets(out, pieces, 0x100, 27'000'000, true, cc);
  const Bytes ts = to_bytes(out.view());
  CHECK_EQ(ts.size(), 2 * kPacketSize);
  CHECK_EQ(cc, 0);  // 14, 15, then wraps
  // First packet: PUSI, PID 0x100, adaptation field + payload, CC 14; AF: RAI + PCR.
  CHECK((Bytes(ts.begin(), ts.begin() + 12) == check::bytes({0x47, 0x41, 0x00, 0x3E, 0x07, 0x50,
                                                              0x00, 0x00, 0xAF, 0xC8, 0x7E, 0x00})));
  CHECK_EQ(at(ts, 12), 0);  // payload starts right after the 8-byte field
  CHECK_EQ(at(ts, 187), 175);
  // Second packet: no PUSI, CC 15; 24 payload bytes, so a 159-byte field of stuffing.
  CHECK_EQ(at(ts, 188 + 1), 0x01);
  CHECK_EQ(at(ts, 188 + 3), 0x3F);
  CHECK_EQ(at(ts, 188 + 4), 159);
  CHECK_EQ(at(ts, 188 + 5), 0x00);  // no flags
  for (std::size_t i = 188 + 6; i < 188 + 164; ++i) CHECK_EQ(at(ts, i), 0xFF);
  CHECK_EQ(at(ts, 188 + 164), 176);
  CHECK_EQ(at(ts, 2 * 188 - 1), 199);
}

TEST_CASE(packetizer_uses_a_one_byte_field_for_one_byte_of_stuffing) {
  Bytes payload(183, std::byte{0xAA});
  const ByteSpan one[] = {payload};
  ByteWriter out;
  std::uint8_t cc = 0;
  write_pes_packets(out, one, 0x101, std::nullopt, false, cc);
  Bytes ts = to_bytes(out.view());
  CHECK_EQ(ts.size(), kPacketSize);
  CHECK_EQ(at(ts, 3), 0x30);  // adaptation field + payload, CC 0
  CHECK_EQ(at(ts, 4), 0);     // adaptation_field_length 0: the length byte is the stuffing
  CHECK_EQ(at(ts, 5), 0xAA);
  // A payload of exactly 184 bytes needs no adaptation field at all.
  Bytes full(184, std::byte{0xBB});
  const ByteSpan exact[] = {full};
  ByteWriter out2;
  write_pes_packets(out2, exact, 0x101, std::nullopt, false, cc);
  ts = to_bytes(out2.view());
  CHECK_EQ(ts.size(), kPacketSize);
  CHECK_EQ(at(ts, 3), 0x11);  // payload only, CC 1
  CHECK_EQ(cc, 2);
}

TEST_CASE(sections_get_a_pointer_field_and_ff_filling) {
  const Bytes pat = pat_section(kPmtPid);
  ByteWriter out;
  std::uint8_t cc = 15;
  write_section_packets(out, pat, kPatPid, cc);
  const Bytes ts = to_bytes(out.view());
  CHECK_EQ(ts.size(), kPacketSize);
  CHECK((Bytes(ts.begin(), ts.begin() + 5) == check::bytes({0x47, 0x40, 0x00, 0x1F, 0x00})));
  CHECK((Bytes(ts.begin() + 5, ts.begin() + 5 + 16) == pat));
  for (std::size_t i = 21; i < kPacketSize; ++i) CHECK_EQ(at(ts, i), 0xFF);
  CHECK_EQ(cc, 0);
}

TEST_CASE(avcc_with_4_byte_lengths_becomes_annex_b) {
  VideoStream s{VideoCodec::kH264, 4, {}};
  s.parameter_sets = {ByteSpan(kSps), ByteSpan(kPps)};
  const Bytes frame = check::bytes({
      0x00, 0x00, 0x00, 0x02, 0x09, 0xF0,        // an AUD already in the frame: dropped
      0x00, 0x00, 0x00, 0x03, 0x06, 0x05, 0x80,  // SEI
      0x00, 0x00, 0x00, 0x00,                    // an empty NAL unit: dropped
      0x00, 0x00, 0x00, 0x02, 0x65, 0x88,        // IDR slice
  });
  std::vector<ByteSpan> pieces;
  CHECK(append_annexb(pieces, s, frame, 5000, true).ok());
  const Bytes sc = check::bytes({0x00, 0x00, 0x00, 0x01});
  CHECK((joined(pieces) == cat({check::bytes({0x00, 0x00, 0x00, 0x01, 0x09, 0xF0}), sc, kSps, sc, kPps, sc,
                                check::bytes({0x06, 0x05, 0x80}), sc, check::bytes({0x65, 0x88})})));
  pieces.clear();  // not a sync sample: no parameter sets
  CHECK(append_annexb(pieces, s, frame, 5000, false).ok());
  CHECK((joined(pieces) == cat({check::bytes({0x00, 0x00, 0x00, 0x01, 0x09, 0xF0}), sc,
                                check::bytes({0x06, 0x05, 0x80}), sc, check::bytes({0x65, 0x88})})));
}

TEST_CASE(hvcc_with_2_byte_lengths_becomes_annex_b) {
  const VideoStream s{VideoCodec::kH265, 2, {}};
  const Bytes frame = check::bytes({
      0x00, 0x03, 0x46, 0x01, 0x50,  // an AUD (type 35) already in the frame: dropped
      0x00, 0x03, 0x02, 0x01, 0xD0,  // TRAIL_R slice (type 1)
      0x00, 0x01, 0x4E,              // prefix SEI header byte (type 39), kept
  });
  std::vector<ByteSpan> pieces;
  CHECK(append_annexb(pieces, s, frame, 0, false).ok());
  CHECK((joined(pieces) == check::bytes({0x00, 0x00, 0x00, 0x01, 0x46, 0x01, 0x50,  // our AUD
                                         0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0xD0,
                                         0x00, 0x00, 0x00, 0x01, 0x4E})));
}

TEST_CASE(nal_length_overflow_is_an_invalid_frame_at_the_frame_offset) {
  const VideoStream s{VideoCodec::kH264, 4, {}};
  std::vector<ByteSpan> pieces;
  const Bytes too_long = check::bytes({0x00, 0x00, 0x00, 0x02, 0x65, 0x88, 0x00, 0x00, 0x00, 0x09, 0x41});
  auto r = append_annexb(pieces, s, too_long, 7777, false);
  CHECK(!r.ok());
  if (!r.ok()) {
    CHECK(r.error().code == Errc::kInvalidFrame);
    CHECK_EQ(r.error().offset, 7777u);
    CHECK_EQ(r.error().detail, std::string("NAL unit length 9 runs past the end of the frame (1 bytes left)"));
  }
  const Bytes cut_prefix = check::bytes({0x00, 0x00, 0x00, 0x01, 0x65, 0x00, 0x00});
  r = append_annexb(pieces, s, cut_prefix, 12, false);
  CHECK(!r.ok());
  if (!r.ok()) {
    CHECK(r.error().code == Errc::kInvalidFrame);
    CHECK_EQ(r.error().offset, 12u);
    CHECK_EQ(r.error().detail, std::string("NAL unit length field runs past the end of the frame (2 bytes left)"));
  }
}

TEST_CASE(adts_header_matches_a_hand_computed_vector) {
  // AAC LC (profile 1), 48 kHz (index 3), mono, a 100-byte frame: aac_frame_length 107.
  const auto h = adts_header(AdtsStream{1, 3, 1}, 100, 0);
  CHECK(h.ok());
  if (h.ok())
    CHECK((Bytes(h->begin(), h->end()) == check::bytes({0xFF, 0xF1, 0x4C, 0x40, 0x0D, 0x7F, 0xFC})));
  const auto big = adts_header(AdtsStream{1, 3, 1}, 8185, 99);
  CHECK(!big.ok());
  if (!big.ok()) {
    CHECK(big.error().code == Errc::kInvalidFrame);
    CHECK_EQ(big.error().offset, 99u);
  }
}

TEST_CASE(write_segment_writes_psi_then_pes_with_pcr_and_rai) {
  kvsmux::mkv::Track track;
  track.codec_id = "V_MPEG4/ISO/AVC";
  track.codec_private_bytes = avcc();
  track.codec_private = {10, track.codec_private_bytes.size()};
  const Bytes input = check::bytes({0x00, 0x00, 0x00, 0x02, 0x65, 0x88, 0x00, 0x00, 0x00, 0x02, 0x41, 0x9A});
  const kvsmux::media::Sample samples[] = {{1000, 6, 0, 0, 3000, 0, true}, {1006, 6, 3000, 3000, 3000, 0, false}};
  const TrackPes tracks[] = {{&track, 0x100, samples, 0}};
  Continuity continuity;
  ByteWriter out;
  CHECK(write_segment(tracks, input, 1000, continuity, out).ok());
  const Bytes ts = to_bytes(out.view());
  CHECK_EQ(ts.size(), 4 * kPacketSize);  // PAT, PMT, two one-packet PES
  for (std::size_t p = 0; p < 4; ++p) CHECK_EQ(at(ts, p * kPacketSize), 0x47);
  CHECK_EQ(at(ts, 2 * 188 + 1), 0x41);  // PUSI, PID 0x100
  CHECK_EQ(at(ts, 2 * 188 + 5), 0x50);  // RAI + PCR on the keyframe
  CHECK_EQ(at(ts, 3 * 188 + 5), 0x10);  // PCR only on the other frame
  CHECK_EQ(continuity.counter[0], 1);
  CHECK_EQ(continuity.counter[kPmtPid], 1);
  CHECK_EQ(continuity.counter[0x100], 2);
  // PCR of the first PES: DTS 126000 - 63000 = 63000 (base), extension 0.
  PacketWriter w;
  write_pcr(w, 63'000ull * 300);
  CHECK((Bytes(ts.begin() + 2 * 188 + 6, ts.begin() + 2 * 188 + 12) == to_bytes(w.view())));
}

TEST_CASE(write_segment_rejects_other_codecs_and_missing_codec_private) {
  kvsmux::mkv::Track vp8;
  vp8.codec_id = "V_VP8";
  vp8.codec_private = {42, 0};
  const TrackPes tracks[] = {{&vp8, 0x100, {}, 0}};
  Continuity continuity;
  ByteWriter out;
  auto r = write_segment(tracks, {}, 0, continuity, out);
  CHECK(!r.ok());
  if (!r.ok()) {
    CHECK(r.error().code == Errc::kUnsupportedCodec);
    CHECK_EQ(r.error().detail, std::string("codec V_VP8 cannot be written to MPEG-TS (H.264, H.265 and AAC can)"));
  }
  kvsmux::mkv::Track aac;
  aac.codec_id = "A_AAC";
  aac.codec_private = {77, 0};
  const TrackPes audio[] = {{&aac, 0x100, {}, 0}};
  r = write_segment(audio, {}, 0, continuity, out);
  CHECK(!r.ok());
  if (!r.ok()) {
    CHECK(r.error().code == Errc::kMissingCodecPrivate);
    CHECK_EQ(r.error().offset, 77u);
  }
  CHECK_EQ(out.size(), 0u);
}

TEST_MAIN()
