// SPDX-License-Identifier: Apache-2.0
// fMP4 writer: every box read back with the tests' box reader (STYLE §5e), trun data offsets
// checked against the sample bytes, tfhd/trun fields derived from the samples.
#include "kvsmux/mp4/fmp4.h"

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "check.h"
#include "mp4_box_reader.h"
#include "kvsmux/mp4/boxes.h"

using kvsmux::ByteReader;
using kvsmux::ByteSpan;
using kvsmux::ByteWriter;
using kvsmux::Errc;
using kvsmux::FourCC;
using kvsmux::ScatterOutput;
using kvsmux::media::Sample;
using namespace kvsmux::mp4;
using namespace mp4_test;

namespace {

// --- tracks -------------------------------------------------------------------------------

// kAvcC, kAlawFormat and track() are in mp4_box_reader.h; the hvcC of h265_aac.mkv and the
// AudioSpecificConfig of h264_aac.mkv (AAC LC 48 kHz mono):
const char* kHvcC =
    "0101600000009000000000003cf000fcfdf8f800000f03200001001840010c01ffff01600000030090000003000003003cba02"
    "40210001002942010101600000030090000003000003003ca014207965ba924caf016808000003000800000300f0402200010007"
    "4401c172b46240";
const char* kAsc = "118856e500";


std::vector<std::byte> init_for(std::initializer_list<std::pair<const kvsmux::mkv::Track*, std::uint32_t>> tracks) {
  std::vector<TrackInput> in;
  for (auto [t, ts] : tracks) in.push_back({t, static_cast<std::uint32_t>(t->number), ts});
  auto r = write_init_segment(in);
  CHECK(r.ok());
  if (!r.ok()) return {};
  return std::vector<std::byte>(r.value().begin(), r.value().end());
}

// An ftyp or styp as text: "major minor=N compatible...".
std::string fourccs(ByteReader r) {
  std::string s;
  for (int i = 0; r.remaining() >= 4; ++i) {
    const std::uint32_t v = r.u32().value();
    s += i == 1 ? "minor=" + std::to_string(v) : fourcc_text(v);
    s += ' ';
  }
  return s;
}

}  // namespace

TEST_CASE(init_segment_h264_aac_round_trips) {
  const auto video = track(1, 1, "V_MPEG4/ISO/AVC", kAvcC);
  auto audio = track(2, 2, "A_AAC", kAsc);
  audio.language = "ger";
  const auto init = init_for({{&video, 90000}, {&audio, 48000}});
  const auto top = parse_all(init);
  CHECK_EQ(top.size(), 2u);
  CHECK_EQ(top[0].type, std::string("ftyp"));
  CHECK_EQ(fourccs(reader(top[0])), std::string("iso6 minor=0 iso6 mp41 dash "));  // two tracks: no cmfc
  const Box& moov = top[1];
  CHECK_EQ(moov.count("trak"), 2u);
  ByteReader mvhd = reader(*moov.child("mvhd"));
  CHECK_EQ(mvhd.u32().value(), 0u);     // version 0, flags 0
  mvhd.skip(8).value();                 // creation, modification: 0
  CHECK_EQ(mvhd.u32().value(), 1000u);  // timescale
  CHECK_EQ(mvhd.u32().value(), 0u);     // duration
  mvhd.skip(76).value();
  CHECK_EQ(mvhd.u32().value(), 3u);     // next_track_ID
  CHECK(mvhd.empty());

  const Box& vtrak = *moov.child("trak", 0);
  ByteReader tkhd = reader(*vtrak.child("tkhd"));
  CHECK_EQ(tkhd.u32().value(), 3u);  // version 0, enabled | in movie
  tkhd.skip(8).value();
  CHECK_EQ(tkhd.u32().value(), 1u);  // track_ID
  tkhd.skip(4 + 4 + 8 + 4).value();
  CHECK_EQ(tkhd.u16().value(), 0u);  // volume: video
  tkhd.skip(2 + 36).value();
  CHECK_EQ(tkhd.u32().value(), 160u << 16);
  CHECK_EQ(tkhd.u32().value(), 120u << 16);
  ByteReader mdhd = reader(*vtrak.child("mdia")->child("mdhd"));
  mdhd.skip(12).value();
  CHECK_EQ(mdhd.u32().value(), 90000u);
  mdhd.skip(4).value();
  CHECK_EQ(mdhd.u16().value(), 0x15C7u);  // "eng", the Matroska default
  ByteReader hdlr = reader(*vtrak.child("mdia")->child("hdlr"));
  hdlr.skip(8).value();
  CHECK_EQ(hdlr.u32().value(), FourCC{"vide"}.value());
  const Box* avc1 = under(vtrak, {"mdia", "minf", "stbl", "stsd", "avc1"});
  CHECK(avc1 != nullptr);
  CHECK(under(vtrak, {"mdia", "minf", "vmhd"}) != nullptr);
  CHECK(under(vtrak, {"mdia", "minf", "dinf", "dref", "url "}) != nullptr);
  if (avc1) {
    ByteReader e = reader(*avc1);
    e.skip(6).value();
    CHECK_EQ(e.u16().value(), 1u);  // data_reference_index
    e.skip(16).value();
    CHECK_EQ(e.u16().value(), 160u);
    CHECK_EQ(e.u16().value(), 120u);
    const Box* avcc = avc1->child("avcC");
    CHECK(avcc && std::vector<std::byte>(avcc->payload.begin(), avcc->payload.end()) == hex(kAvcC));
  }
  const Box* stbl = under(vtrak, {"mdia", "minf", "stbl"});
  for (const char* t : {"stts", "stsc", "stco"}) CHECK_EQ(reader(*stbl->child(t)).u64().value(), 0u);
  CHECK_EQ(stbl->child("stsz")->payload.size(), 12u);

  const Box& atrak = *moov.child("trak", 1);
  ByteReader amdhd = reader(*atrak.child("mdia")->child("mdhd"));
  amdhd.skip(12).value();
  CHECK_EQ(amdhd.u32().value(), 48000u);
  amdhd.skip(4).value();
  CHECK_EQ(amdhd.u16().value(), ((('g' - 0x60) * 32 + ('e' - 0x60)) * 32 + ('r' - 0x60)));
  CHECK(under(atrak, {"mdia", "minf", "smhd"}) != nullptr);
  const Box* mp4a = under(atrak, {"mdia", "minf", "stbl", "stsd", "mp4a"});
  CHECK(mp4a != nullptr);
  if (mp4a) {
    ByteReader e = reader(*mp4a);
    e.skip(16).value();
    CHECK_EQ(e.u16().value(), 1u);   // channelcount
    CHECK_EQ(e.u16().value(), 16u);  // samplesize
    e.skip(4).value();
    CHECK_EQ(e.u32().value(), 48000u << 16);
    // esds: ES_Descriptor > DecoderConfigDescriptor > DecoderSpecificInfo, SLConfigDescriptor,
    // each with a 4-byte expandable size.
    ByteReader d = reader(*mp4a->child("esds"));
    CHECK_EQ(d.u32().value(), 0u);
    CHECK_EQ(d.u8().value(), 0x03);
    CHECK_EQ(d.u32().value(), 0x80808000u + 3 + 5 + 13 + 5 + 5 + 5 + 1);
    CHECK_EQ(d.u24().value(), 0u);   // ES_ID 0, flags 0
    CHECK_EQ(d.u8().value(), 0x04);
    CHECK_EQ(d.u32().value(), 0x80808000u + 13 + 5 + 5);
    CHECK_EQ(d.u8().value(), 0x40);  // Audio ISO/IEC 14496-3
    CHECK_EQ(d.u8().value(), 0x15);  // audio stream, reserved 1
    d.skip(11).value();
    CHECK_EQ(d.u8().value(), 0x05);
    CHECK_EQ(d.u32().value(), 0x80808005u);
    const auto asc = d.take(5).value();
    CHECK(std::vector<std::byte>(asc.begin(), asc.end()) == hex(kAsc));
    CHECK_EQ(d.u8().value(), 0x06);
    CHECK_EQ(d.u32().value(), 0x80808001u);
    CHECK_EQ(d.u8().value(), 2);
    CHECK(d.empty());
  }
  const Box* mvex = moov.child("mvex");
  CHECK(mvex && mvex->count("trex") == 2);
  ByteReader trex = reader(*mvex->child("trex", 1));
  trex.skip(4).value();
  CHECK_EQ(trex.u32().value(), 2u);
  CHECK_EQ(trex.u32().value(), 1u);
}

TEST_CASE(init_segment_hevc_and_g711_single_track_is_cmaf) {
  const auto hevc = track(1, 1, "V_MPEGH/ISO/HEVC", kHvcC);
  const auto init = init_for({{&hevc, 90000}});
  const auto top = parse_all(init);
  CHECK_EQ(fourccs(reader(top[0])), std::string("iso6 minor=0 iso6 cmfc mp41 dash "));
  const Box* hvcc = path(top, {"moov", "trak", "mdia", "minf", "stbl", "stsd", "hvc1", "hvcC"});
  CHECK(hvcc && std::vector<std::byte>(hvcc->payload.begin(), hvcc->payload.end()) == hex(kHvcC));

  for (auto [tag, type] : {std::pair{"06", "alaw"}, std::pair{"07", "ulaw"}}) {
    const std::string cp = std::string(tag) + (kAlawFormat + 2);
    const auto g711 = track(2, 2, "A_MS/ACM", cp.c_str());
    const auto init2 = init_for({{&g711, 8000}});
    const auto top2 = parse_all(init2);
    const Box* e = path(top2, {"moov", "trak", "mdia", "minf", "stbl", "stsd", type});
    CHECK(e != nullptr);
    if (!e) continue;
    CHECK(e->children.empty());
    ByteReader r = reader(*e);
    r.skip(16).value();
    CHECK_EQ(r.u16().value(), 1u);   // channelcount
    CHECK_EQ(r.u16().value(), 16u);  // samplesize, the template value
    r.skip(4).value();
    CHECK_EQ(r.u32().value(), 8000u << 16);
    CHECK(r.empty());
    CHECK_EQ(codec_string(g711), std::string(type));
  }
}

TEST_CASE(codec_strings) {
  CHECK_EQ(codec_string(track(1, 1, "V_MPEG4/ISO/AVC", kAvcC)), std::string("avc1.64000b"));
  CHECK_EQ(codec_string(track(1, 1, "V_MPEGH/ISO/HEVC", kHvcC)), std::string("hvc1.1.6.L60.90"));
  CHECK_EQ(codec_string(track(2, 2, "A_AAC", kAsc)), std::string("mp4a.40.2"));
  CHECK_EQ(codec_string(track(1, 1, "V_VP8", "")), std::string());
  CHECK_EQ(codec_string(track(1, 1, "V_MPEG4/ISO/AVC", "")), std::string());
}

TEST_CASE(codec_errors) {
  const auto check_error = [](const kvsmux::mkv::Track& t, Errc code, std::uint64_t offset, const std::string& detail) {
    const TrackInput in{&t, 1, 90000};
    auto r = write_init_segment(std::span(&in, 1));
    CHECK(!r.ok());
    if (r.ok()) return;
    CHECK(r.error().code == code);
    CHECK_EQ(r.error().offset, offset);
    CHECK_EQ(r.error().detail, detail);
  };
  check_error(track(1, 1, "V_MPEG4/ISO/AVC", ""), Errc::kMissingCodecPrivate, 1000, "no CodecPrivate for V_MPEG4/ISO/AVC");
  check_error(track(1, 1, "V_MPEG4/ISO/AVC", "02"), Errc::kInvalidCodecPrivate, 1000, "avcC configurationVersion is not 1");
  check_error(track(2, 2, "A_AAC", "00"), Errc::kInvalidCodecPrivate, 2000,
              "AudioSpecificConfig: audioObjectType is 0");
  check_error(track(1, 1, "V_VP8", ""), Errc::kUnsupportedCodec, 1000, "unsupported codec V_VP8");
  check_error(track(2, 2, "A_MS/ACM", "0100010040"), Errc::kInvalidCodecPrivate, 2000,
              "WAVEFORMATEX is 5 bytes, shorter than 14");
  check_error(track(2, 2, "A_MS/ACM", "01000100401f0000401f00000100"), Errc::kUnsupportedCodec, 2000,
              "unsupported codec A_MS/ACM with format tag 0x0001");
  check_error(track(2, 2, "A_MS/ACM", "06000000401f0000401f00000100"), Errc::kInvalidCodecPrivate, 2002,
              "WAVEFORMATEX nChannels is 0");
  const auto ok = track(1, 1, "V_MPEG4/ISO/AVC", kAvcC);
  const TrackInput zero{&ok, 1, 0};
  CHECK(!write_init_segment(std::span(&zero, 1)).ok());
  CHECK(!write_init_segment({}).ok());
}

// --- fragments ----------------------------------------------------------------------------

namespace {

Sample sample(std::uint64_t offset, std::uint32_t size, std::int64_t dts, std::uint32_t duration, std::int32_t cts,
              bool sync) {
  return Sample{offset, size, dts + cts, dts, duration, cts, sync};
}

// A trun read back: the samples it describes, with the tfhd defaults applied.
struct ReadRun {
  std::uint32_t track_id = 0, tfhd_flags = 0, trun_flags = 0;
  std::uint8_t trun_version = 0;
  std::uint64_t tfdt = 0;
  std::int32_t data_offset = 0;
  std::vector<Sample> samples;  // offset = position in the segment
};

ReadRun read_traf(const Box& moof, const Box& traf) {
  ReadRun run;
  ByteReader tfhd = reader(*traf.child("tfhd"));
  run.tfhd_flags = tfhd.u32().value() & 0xFFFFFF;
  run.track_id = tfhd.u32().value();
  CHECK(run.tfhd_flags & 0x020000);  // default-base-is-moof
  std::uint32_t duration = 0, size = 0, flags = 0;
  if (run.tfhd_flags & 0x08) duration = tfhd.u32().value();
  if (run.tfhd_flags & 0x10) size = tfhd.u32().value();
  if (run.tfhd_flags & 0x20) flags = tfhd.u32().value();
  CHECK(tfhd.empty());
  ByteReader tfdt = reader(*traf.child("tfdt"));
  CHECK_EQ(tfdt.u32().value(), 0x01000000u);  // version 1
  run.tfdt = tfdt.u64().value();
  ByteReader trun = reader(*traf.child("trun"));
  const std::uint32_t vf = trun.u32().value();
  run.trun_version = static_cast<std::uint8_t>(vf >> 24);
  run.trun_flags = vf & 0xFFFFFF;
  const std::uint32_t count = trun.u32().value();
  CHECK(run.trun_flags & 0x01);
  run.data_offset = static_cast<std::int32_t>(trun.u32().value());
  std::optional<std::uint32_t> first_flags;
  if (run.trun_flags & 0x04) first_flags = trun.u32().value();
  std::uint64_t pos = moof.offset + static_cast<std::uint64_t>(run.data_offset);
  std::int64_t dts = static_cast<std::int64_t>(run.tfdt);
  for (std::uint32_t i = 0; i < count; ++i) {
    Sample s;
    s.duration = run.trun_flags & 0x100 ? trun.u32().value() : duration;
    s.size = run.trun_flags & 0x200 ? trun.u32().value() : size;
    std::uint32_t f = run.trun_flags & 0x400 ? trun.u32().value() : (i == 0 && first_flags ? *first_flags : flags);
    s.cts_offset = run.trun_flags & 0x800 ? static_cast<std::int32_t>(trun.u32().value()) : 0;
    CHECK(f == kSyncSampleFlags || f == kNonSyncSampleFlags);
    s.sync = f == kSyncSampleFlags;
    s.offset = pos;
    s.dts = dts;
    s.pts = dts + s.cts_offset;
    pos += s.size;
    dts += s.duration;
    run.samples.push_back(s);
  }
  CHECK(trun.empty());
  return run;
}

}  // namespace

TEST_CASE(media_segment_round_trips_and_data_offsets_land_on_samples) {
  // An input whose first byte is at absolute offset 5000; samples at known places, with
  // gaps between them (block headers) and two adjacent ones (a lace).
  std::vector<std::byte> input(400);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<std::byte>(i * 7 + 3);
  const std::uint64_t base = 5000;
  // Video: I P B B with B-frames (negative composition offsets), durations 3000.
  const std::vector<Sample> video = {sample(base + 10, 40, 0, 3000, 3000, true),
                                     sample(base + 60, 30, 3000, 3000, 6000, false),
                                     sample(base + 100, 20, 6000, 3000, -3000, false),
                                     sample(base + 130, 20, 9000, 3000, -3000, false)};
  // Audio: constant size and duration, all sync, two adjacent (one lace).
  const std::vector<Sample> audio = {sample(base + 200, 25, 0, 1024, 0, true),
                                     sample(base + 225, 25, 1024, 1024, 0, true),
                                     sample(base + 300, 25, 2048, 1024, 0, true)};
  const TrackRun runs[] = {{1, 0, video}, {2, 0, audio}};
  ScatterOutput out;
  CHECK(write_media_segment(7, runs, input, base, out).ok());
  const kvsmux::ByteBuffer flat = out.flatten();
  const std::vector<std::byte> seg(flat.begin(), flat.end());
  // The media is appended by reference: one piece per run of adjacent samples.
  std::size_t input_pieces = 0;
  for (const auto& p : out.pieces()) {
    if (p.generated) continue;
    ++input_pieces;
    CHECK(p.input.data() >= input.data() && p.input.data() + p.input.size() <= input.data() + input.size());
  }
  CHECK_EQ(input_pieces, 6u);

  const auto top = parse_all(seg);
  CHECK_EQ(top.size(), 3u);
  CHECK_EQ(top[0].type + top[1].type + top[2].type, std::string("stypmoofmdat"));
  CHECK_EQ(fourccs(reader(top[0])), std::string("msdh minor=0 msdh iso6 "));
  const Box& moof = top[1];
  ByteReader mfhd = reader(*moof.child("mfhd"));
  mfhd.skip(4).value();
  CHECK_EQ(mfhd.u32().value(), 7u);
  CHECK_EQ(moof.count("traf"), 2u);
  const ReadRun v = read_traf(moof, *moof.child("traf", 0));
  const ReadRun a = read_traf(moof, *moof.child("traf", 1));
  CHECK_EQ(v.track_id, 1u);
  CHECK_EQ(a.track_id, 2u);
  CHECK_EQ(v.trun_version, 1);  // a negative composition offset
  CHECK_EQ(a.trun_version, 0);
  // The first byte of each track's data in the mdat.
  const Box& mdat = top[2];
  CHECK_EQ(moof.offset + v.data_offset, mdat.offset + 8);
  CHECK_EQ(moof.offset + a.data_offset, mdat.offset + 8 + 110);
  CHECK_EQ(mdat.size, 8u + 110 + 75);
  for (auto [read, wrote] : {std::pair{&v, &video}, std::pair{&a, &audio}}) {
    CHECK_EQ(read->samples.size(), wrote->size());
    for (std::size_t i = 0; i < wrote->size() && i < read->samples.size(); ++i) {
      const Sample& r = read->samples[i];
      const Sample& w = (*wrote)[i];
      CHECK_EQ(r.size, w.size);
      CHECK_EQ(r.duration, w.duration);
      CHECK_EQ(r.cts_offset, w.cts_offset);
      CHECK_EQ(r.dts, w.dts);
      CHECK_EQ(r.sync, w.sync);
      CHECK(std::memcmp(seg.data() + r.offset, input.data() + (w.offset - base), w.size) == 0);
    }
  }
  // Derived fields: video sizes vary, durations do not, flags differ only on the first.
  CHECK_EQ(v.tfhd_flags, 0x020000u | 0x08 | 0x20);
  CHECK_EQ(v.trun_flags, 0x01u | 0x04 | 0x200 | 0x800);
  // Audio: everything constant goes into tfhd; no composition offsets.
  CHECK_EQ(a.tfhd_flags, 0x020000u | 0x08 | 0x10 | 0x20);
  CHECK_EQ(a.trun_flags, 0x01u);
}

TEST_CASE(trun_layout_derivation) {
  const auto s = [](std::uint32_t size, std::uint32_t duration, std::int32_t cts, bool sync) {
    return sample(0, size, 0, duration, cts, sync);
  };
  {  // all the same: tfhd defaults only
    const std::vector<Sample> v = {s(10, 5, 0, true), s(10, 5, 0, true)};
    const TrunLayout l = derive_trun_layout(v);
    CHECK(l.default_duration == 5u && l.default_size == 10u && l.default_flags == kSyncSampleFlags);
    CHECK(!l.first_sample_flags && !l.per_sample_flags && !l.per_sample_cts && !l.negative_cts);
    CHECK_EQ(l.trun_flags(), 0x01u);
  }
  {  // flags vary after the first: per sample; positive offsets: version 0
    const std::vector<Sample> v = {s(10, 5, 0, true), s(11, 6, 2, false), s(10, 5, 0, true)};
    const TrunLayout l = derive_trun_layout(v);
    CHECK(l.per_sample_flags && l.per_sample_size && l.per_sample_duration && l.per_sample_cts);
    CHECK(!l.default_flags && !l.first_sample_flags && !l.negative_cts);
    CHECK_EQ(l.tfhd_flags(), 0x020000u);
    CHECK_EQ(l.trun_flags(), 0x01u | 0x100 | 0x200 | 0x400 | 0x800);
  }
  {  // a non-sync sample first, then sync ones: first_sample_flags works both ways
    const std::vector<Sample> v = {s(10, 5, -1, false), s(10, 5, 0, true)};
    const TrunLayout l = derive_trun_layout(v);
    CHECK(l.first_sample_flags == kNonSyncSampleFlags && l.default_flags == kSyncSampleFlags);
    CHECK(l.negative_cts);
  }
  CHECK_EQ(derive_trun_layout({}).tfhd_flags(), 0x020000u);
}

TEST_CASE(mdat_header_uses_largesize_only_when_needed) {
  ByteWriter small, large;
  CHECK_EQ(write_mdat_header(small, 0xFFFFFFFFull - 8), 8u);
  CHECK_EQ(ByteReader(small.view(), 0).u32().value(), 0xFFFFFFFFu);
  CHECK_EQ(write_mdat_header(large, 0xFFFFFFFFull - 7), 16u);
  ByteReader r(large.view(), 0);
  CHECK_EQ(r.u32().value(), 1u);
  CHECK_EQ(r.u32().value(), FourCC{"mdat"}.value());
  CHECK_EQ(r.u64().value(), 0xFFFFFFFFull - 7 + 16);
}

TEST_CASE(samples_outside_the_input_are_refused) {
  std::vector<std::byte> input(100);
  const std::vector<Sample> v = {sample(1090, 20, 0, 1, 0, true)};
  const TrackRun run{1, 0, v};
  ScatterOutput out;
  auto st = write_media_segment(1, std::span(&run, 1), input, 1000, out);
  CHECK(!st.ok());
  if (!st.ok()) {
    CHECK(st.error().code == Errc::kTruncated);
    CHECK_EQ(st.error().offset, 1090u);
    CHECK_EQ(st.error().detail, std::string("sample of 20 bytes is outside the input"));
  }
  const std::vector<Sample> before = {sample(999, 1, 0, 1, 0, true)};
  const TrackRun run2{1, 0, before};
  ScatterOutput out2;
  CHECK(!write_media_segment(1, std::span(&run2, 1), input, 1000, out2).ok());
}

TEST_MAIN()
