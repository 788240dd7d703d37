// SPDX-License-Identifier: Apache-2.0
// One HLS media segment: PAT, PMT, then one PES per sample in decode-time order.
//
// Time stamps. Every PTS and DTS is the sample's time (90 kHz; DTS after the session's
// dts_shift) plus kTimestampOffset90k, modulo 2^33; the PCR is the PES's DTS minus
// kPcrLead90k. These are FFmpeg's defaults (its TS output starts at 1.4 s and its PCRs run
// 0.7 s behind the DTS, -max_delay 0.7 s): PCR <= DTS of every PES that follows (they come in DTS
// order), a decoder gets 0.7 s of buffering, and with B-frames the first DTS (shifted below
// the first PTS) stays positive. PCRs are written on the first packet of every PES on the
// PCR PID.
//
// Gaps (ISO/IEC 13818-1 and HLS):
// - PCR only with the PES of the PCR PID: more than 100 ms apart (§2.7.2) below 10 frames/s.
// - One AAC frame per PES: simple and exact, but low-rate audio costs up to ~40 % of its size.
// - The PMT lists the streams of this segment and keeps version_number 0, so a session whose
//   segments carry different track sets changes the PMT without a new version.
// - No descriptors in the PMT, no SCTE-35, no encryption, no null packets or CBR padding.
#include "kvsmux/ts/segment.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "kvsmux/ts/annexb.h"
#include "kvsmux/ts/packetizer.h"
#include "kvsmux/ts/pes.h"
#include "kvsmux/ts/psi.h"

namespace kvsmux::ts {
namespace {

constexpr std::int64_t kTimestampOffset90k = 126'000;  // 1.4 s
constexpr std::int64_t kPcrLead90k = 63'000;           // 0.7 s
constexpr std::uint64_t kPcrPerTick = 300;             // 27 MHz / 90 kHz

struct Stream {
  const TrackPes* in = nullptr;
  std::uint8_t stream_type = 0;
  bool video = false;
  VideoStream video_stream;
  AdtsStream adts;
};

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// RFC 9559 codec mappings: V_MPEG4/ISO/AVC (avcC), V_MPEGH/ISO/HEVC (hvcC), A_AAC* (ASC).
Result<Stream> plan_stream(const TrackPes& t) {
  const mkv::Track& track = *t.track;
  Stream s;
  s.in = &t;
  if (track.codec_id == "V_MPEG4/ISO/AVC" || track.codec_id == "V_MPEGH/ISO/HEVC") {
    const bool h264 = track.codec_id == "V_MPEG4/ISO/AVC";
    s.video = true;
    s.stream_type = h264 ? kStreamTypeH264 : kStreamTypeH265;
    KVSMUX_TRY(s.video_stream, video_stream(track, h264 ? VideoCodec::kH264 : VideoCodec::kH265));
  } else if (starts_with(track.codec_id, "A_AAC")) {
    s.stream_type = kStreamTypeAacAdts;
    KVSMUX_TRY(s.adts, adts_stream(track));
  } else {
    return make_error(Errc::kUnsupportedCodec, track.codec_private.offset,
                      "codec " + track.codec_id + " cannot be written to MPEG-TS (H.264, H.265 and AAC can)");
  }
  return s;
}

// The PCR goes with the first video stream, else the first stream.
std::uint16_t pcr_pid(const std::vector<Stream>& streams) {
  for (const Stream& s : streams)
    if (s.video) return s.in->pid;
  return streams.front().in->pid;
}

struct Entry {
  std::int64_t dts_90k;  // after the track's dts_shift
  std::size_t stream;
  std::size_t sample;
};

// Every sample of every stream by decode time, then stream order, then sample order.
std::vector<Entry> decode_order(const std::vector<Stream>& streams) {
  std::vector<Entry> order;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const TrackPes& t = *streams[i].in;
    for (std::size_t k = 0; k < t.samples.size(); ++k) order.push_back({t.samples[k].dts - t.dts_shift, i, k});
  }
  std::stable_sort(order.begin(), order.end(), [](const Entry& a, const Entry& b) { return a.dts_90k < b.dts_90k; });
  return order;
}

Result<ByteSpan> frame_bytes(const media::Sample& s, ByteSpan input, std::uint64_t input_offset) {
  const std::uint64_t at = s.offset - input_offset;
  if (s.offset < input_offset || at > input.size() || s.size > input.size() - at)
    return make_error(Errc::kTruncated, s.offset,
                      "frame of " + std::to_string(s.size) + " bytes runs past the end of the input");
  return input.subspan(static_cast<std::size_t>(at), s.size);
}

}  // namespace

Status write_segment(std::span<const TrackPes> tracks, ByteSpan input, std::uint64_t input_offset,
                     Continuity& continuity, ByteWriter& out) {
  if (tracks.empty()) return Ok{};
  std::vector<Stream> streams;
  for (const TrackPes& t : tracks) {
    KVSMUX_TRY(Stream s, plan_stream(t));
    streams.push_back(std::move(s));
  }
  // Reserve the whole segment once: the payload in 184-byte packet payloads, plus headers,
  // parameter sets and stuffing (a few packets per sample at most).
  std::size_t payload = 0, samples = 0;
  for (const TrackPes& t : tracks) {
    samples += t.samples.size();
    for (const media::Sample& s : t.samples) payload += s.size;
  }
  out.buffer().reserve(out.size() + (payload / 184 + 2 * samples + 4) * kPacketSize);
  const std::uint16_t pcr = pcr_pid(streams);
  std::vector<ProgramStream> program;
  for (const Stream& s : streams) program.push_back({s.stream_type, s.in->pid});
  write_section_packets(out, pat_section(kPmtPid), kPatPid, continuity.counter[kPatPid]);
  write_section_packets(out, pmt_section(pcr, program), kPmtPid, continuity.counter[kPmtPid]);

  std::vector<ByteSpan> pieces;
  for (const Entry& e : decode_order(streams)) {
    const Stream& stream = streams[e.stream];
    const TrackPes& t = *stream.in;
    const media::Sample& s = t.samples[e.sample];
    KVSMUX_TRY(const ByteSpan frame, frame_bytes(s, input, input_offset));
    const std::uint64_t pts = wrap_33(s.pts + kTimestampOffset90k);
    const std::uint64_t dts = wrap_33(e.dts_90k + kTimestampOffset90k);
    pieces.clear();
    PesHeaderWriter header;
    std::array<std::byte, kAdtsHeaderSize> adts{};
    if (stream.video) {
      header = pes_header(kStreamIdVideo, 0, pts, dts);  // PES_packet_length 0: unbounded (video only)
      pieces.push_back(header.view());
      KVSMUX_CHECK(append_annexb(pieces, stream.video_stream, frame, s.offset, s.sync));
    } else {
      KVSMUX_TRY(adts, adts_header(stream.adts, frame.size(), s.offset));
      const std::size_t after_length = pes_header_size(false) - 6 + kAdtsHeaderSize + frame.size();  // < 2^16
      header = pes_header(kStreamIdAudio, static_cast<std::uint16_t>(after_length), pts, std::nullopt);
      pieces.push_back(header.view());
      pieces.push_back(adts);
      pieces.push_back(frame);
    }
    std::optional<std::uint64_t> pcr_27mhz;
    if (t.pid == pcr) pcr_27mhz = wrap_33(e.dts_90k + kTimestampOffset90k - kPcrLead90k) * kPcrPerTick;
    write_pes_packets(out, pieces, t.pid, pcr_27mhz, stream.video && s.sync, continuity.counter[t.pid & 0x1FFF]);
  }
  return Ok{};
}

}  // namespace kvsmux::ts
