// SPDX-License-Identifier: Apache-2.0
// File, movie and track headers (ISO/IEC 14496-12 §4.3, §8.2-§8.8.3), and the moov of an
// fMP4 init segment: a fragmented movie, whose durations are 0, whose sample tables are
// empty, and whose mvex announces the fragments. Deterministic: creation and modification
// times are always 0.
#include <algorithm>
#include <cstdint>

#include "kvsmux/mp4/box.h"
#include "kvsmux/mp4/boxes.h"
#include "kvsmux/mp4/sample_tables.h"

namespace kvsmux::mp4 {
namespace {

constexpr std::uint32_t kFmp4MovieTimescale = 1000;  // mvhd of an init segment: nothing is timed in it

constexpr FourCC kFmp4Compatible[] = {FourCC{"iso6"}, FourCC{"mp41"}, FourCC{"dash"}};
constexpr FourCC kCmafCompatible[] = {FourCC{"iso6"}, FourCC{"cmfc"}, FourCC{"mp41"}, FourCC{"dash"}};
constexpr FourCC kSegmentCompatible[] = {FourCC{"msdh"}, FourCC{"iso6"}};

bool is_video(const mkv::Track& track) { return track.type == static_cast<std::uint8_t>(mkv::TrackType::kVideo); }

// Version 1 of a FullBox with times only when a duration needs 64 bits (STYLE §5c).
bool needs_version1(std::uint64_t duration) { return duration > UINT32_MAX; }

// The unity transformation matrix (ISO/IEC 14496-12 §8.2.2.3), 16.16 and 2.30 fixed point.
void unity_matrix(ByteWriter& out) {
  for (std::uint32_t v : {0x00010000u, 0u, 0u, 0u, 0x00010000u, 0u, 0u, 0u, 0x40000000u}) out.u32(v);
}

// creation_time, modification_time, then (after `middle`) the duration: 32 or 64 bits each.
template <typename Middle>
void times(ByteWriter& out, bool version1, std::uint64_t duration, Middle middle) {
  if (version1) out.zeros(16);
  else out.zeros(8);
  middle();
  if (version1) out.u64(duration);
  else out.u32(static_cast<std::uint32_t>(duration));
}

// ISO/IEC 14496-12 §8.4.2.3: three ISO 639-2/T letters, each as (letter - 0x60) in 5 bits.
// Matroska's Language defaults to "eng" (RFC 9559 §5.1.4.1.19).
std::uint16_t packed_language(const std::string& language) {
  const std::string code = language.empty() ? "eng" : language;
  const bool valid = code.size() == 3 && std::all_of(code.begin(), code.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; });
  std::uint16_t packed = 0;
  for (char ch : valid ? code : std::string("und")) packed = static_cast<std::uint16_t>(packed * 32 + (ch - 0x60));
  return packed;
}

// VideoMediaHeaderBox (ISO/IEC 14496-12 §12.1.2); flags 1 as the clause requires.
void write_vmhd(ByteWriter& out) {
  BoxScope box(out, FourCC{"vmhd"}, 0, 1);
  out.u16(0);    // graphicsmode: copy
  out.zeros(6);  // opcolor
}

// SoundMediaHeaderBox (ISO/IEC 14496-12 §12.2.2).
void write_smhd(ByteWriter& out) {
  BoxScope box(out, FourCC{"smhd"}, 0, 0);
  out.u16(0);  // balance: centre
  out.u16(0);  // reserved
}

// DataEntryUrlBox (ISO/IEC 14496-12 §8.7.2); flag 1: the media is in this file.
void write_url(ByteWriter& out) { BoxScope box(out, FourCC{"url "}, 0, 1); }

// DataReferenceBox (ISO/IEC 14496-12 §8.7.2).
void write_dref(ByteWriter& out) {
  BoxScope box(out, FourCC{"dref"}, 0, 0);
  out.u32(1);  // entry_count
  write_url(out);
}

// SampleTableBox (ISO/IEC 14496-12 §8.5.1) of a fragmented track: the tables are empty, the
// samples are in the fragments.
void write_stbl(ByteWriter& out, const CodecConfig& codec) {
  BoxScope box(out, FourCC{"stbl"});
  write_stsd(out, codec);
  write_stts(out, {});
  write_stsc(out, {});
  write_stsz(out, {});
  write_stco(out, {});
}

// MediaInformationBox (ISO/IEC 14496-12 §8.4.4).
void write_minf(ByteWriter& out, const InitTrack& t) {
  BoxScope box(out, FourCC{"minf"});
  write_media_header(out, *t.track);
  write_dinf(out);
  write_stbl(out, t.codec);
}

// MediaBox (ISO/IEC 14496-12 §8.4.1).
void write_mdia(ByteWriter& out, const InitTrack& t) {
  BoxScope box(out, FourCC{"mdia"});
  write_mdhd(out, t.timescale, 0, t.track->language);
  write_hdlr(out, *t.track);
  write_minf(out, t);
}

// TrackBox (ISO/IEC 14496-12 §8.3.1).
void write_trak(ByteWriter& out, const InitTrack& t) {
  BoxScope box(out, FourCC{"trak"});
  write_tkhd(out, *t.track, t.track_id, 0);
  write_mdia(out, t);
}

// TrackExtendsBox (ISO/IEC 14496-12 §8.8.3). Defaults all 0: every tfhd states its own.
void write_trex(ByteWriter& out, std::uint32_t track_id) {
  BoxScope box(out, FourCC{"trex"}, 0, 0);
  out.u32(track_id);
  out.u32(1);  // default_sample_description_index
  out.u32(0);  // default_sample_duration
  out.u32(0);  // default_sample_size
  out.u32(0);  // default_sample_flags
}

// MovieExtendsBox (ISO/IEC 14496-12 §8.8.1): the movie continues in fragments. No mehd: the
// total duration is not known.
void write_mvex(ByteWriter& out, std::span<const InitTrack> tracks) {
  BoxScope box(out, FourCC{"mvex"});
  for (const InitTrack& t : tracks) write_trex(out, t.track_id);
}

}  // namespace

Brands fmp4_brands(std::size_t track_count) {
  if (track_count == 1) return {FourCC{"iso6"}, 0, kCmafCompatible};
  return {FourCC{"iso6"}, 0, kFmp4Compatible};
}

Brands segment_brands() { return {FourCC{"msdh"}, 0, kSegmentCompatible}; }

void write_ftyp(ByteWriter& out, const Brands& brands) {
  // FileTypeBox, ISO/IEC 14496-12 §4.3.
  BoxScope box(out, FourCC{"ftyp"});
  out.fourcc(brands.major_brand);
  out.u32(brands.minor_version);
  for (FourCC b : brands.compatible) out.fourcc(b);
}

void write_mvhd(ByteWriter& out, std::uint32_t timescale, std::uint64_t duration, std::uint32_t next_track_id) {
  // MovieHeaderBox, ISO/IEC 14496-12 §8.2.2.
  const bool v1 = needs_version1(duration);
  BoxScope box(out, FourCC{"mvhd"}, v1 ? 1 : 0, 0);
  times(out, v1, duration, [&] { out.u32(timescale); });
  out.u32(0x00010000);  // rate 1.0
  out.u16(0x0100);      // volume 1.0
  out.zeros(2 + 8);     // reserved
  unity_matrix(out);
  out.zeros(24);        // pre_defined[6]
  out.u32(next_track_id);
}

void write_tkhd(ByteWriter& out, const mkv::Track& track, std::uint32_t track_id, std::uint64_t duration) {
  // TrackHeaderBox, ISO/IEC 14496-12 §8.3.2.
  constexpr std::uint32_t kTrackEnabled = 0x000001, kTrackInMovie = 0x000002;
  const bool v1 = needs_version1(duration);
  const bool video = is_video(track);
  std::uint32_t width = 0, height = 0;
  if (video) {
    if (Result<CodecConfig> codec = codec_config(track); codec.ok()) {
      width = codec->width;
      height = codec->height;
    }
  }
  BoxScope box(out, FourCC{"tkhd"}, v1 ? 1 : 0, kTrackEnabled | kTrackInMovie);
  times(out, v1, duration, [&] {
    out.u32(track_id);
    out.u32(0);  // reserved
  });
  out.zeros(8);  // reserved[2]
  out.u16(0);    // layer
  out.u16(0);    // alternate_group
  out.u16(video ? 0 : 0x0100);  // volume: 1.0 for audio
  out.u16(0);    // reserved
  unity_matrix(out);
  out.u32(width << 16);   // width, 16.16 (at most 65535: the SPS parsers check)
  out.u32(height << 16);  // height, 16.16
}

void write_mdhd(ByteWriter& out, std::uint32_t timescale, std::uint64_t duration, const std::string& language) {
  // MediaHeaderBox, ISO/IEC 14496-12 §8.4.2.
  const bool v1 = needs_version1(duration);
  BoxScope box(out, FourCC{"mdhd"}, v1 ? 1 : 0, 0);
  times(out, v1, duration, [&] { out.u32(timescale); });
  out.u16(packed_language(language));  // pad bit 0, then the language
  out.u16(0);                          // pre_defined
}

void write_hdlr(ByteWriter& out, const mkv::Track& track) {
  // HandlerBox, ISO/IEC 14496-12 §8.4.3.
  const bool video = is_video(track);
  BoxScope box(out, FourCC{"hdlr"}, 0, 0);
  out.u32(0);  // pre_defined
  out.fourcc(video ? FourCC{"vide"} : FourCC{"soun"});
  out.zeros(12);  // reserved[3]
  out.text(video ? "VideoHandler" : "SoundHandler");
  out.u8(0);  // name is null-terminated
}

void write_media_header(ByteWriter& out, const mkv::Track& track) {
  // ISO/IEC 14496-12 §8.4.5: the media header box of the handler type.
  if (is_video(track)) write_vmhd(out);
  else write_smhd(out);
}

void write_dinf(ByteWriter& out) {
  // DataInformationBox, ISO/IEC 14496-12 §8.7.1.
  BoxScope box(out, FourCC{"dinf"});
  write_dref(out);
}

void write_moov(ByteWriter& out, std::span<const InitTrack> tracks) {
  // MovieBox, ISO/IEC 14496-12 §8.2.1.
  BoxScope box(out, FourCC{"moov"});
  std::uint32_t max_id = 0;
  for (const InitTrack& t : tracks) max_id = std::max(max_id, t.track_id);
  // next_track_ID: all 1s when no larger id is free (§8.2.2.3 then asks writers to search).
  write_mvhd(out, kFmp4MovieTimescale, 0, max_id == UINT32_MAX ? max_id : max_id + 1);
  for (const InitTrack& t : tracks) write_trak(out, t);
  write_mvex(out, tracks);
}

}  // namespace kvsmux::mp4
