// SPDX-License-Identifier: Apache-2.0
// Progressive MP4 (GetClip): the sample-table and edit-list writers with annotated bytes, and
// whole clips read back with a tiny box reader (STYLE §5e): run-length stts/ctts/stsc, the
// ctts shift, chunk offsets landing on the sample bytes, the co64 switch, empty edits.
#include "kvsmux/mp4/clip.h"

#include <sys/mman.h>

#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "kvsmux/mp4/sample_tables.h"
#include "mp4_box_reader.h"

using kvsmux::ByteReader;
using kvsmux::ByteSpan;
using kvsmux::ByteWriter;
using kvsmux::Errc;
using kvsmux::ScatterOutput;
using kvsmux::media::Sample;
using namespace kvsmux::mp4;
using namespace mp4_test;

namespace {

using U32s = std::vector<std::uint32_t>;
using U64s = std::vector<std::uint64_t>;

// A FullBox's payload after version and flags.
ByteReader fields(const Box& b, std::uint8_t& version) {
  ByteReader r(b.payload, b.offset + b.header);
  version = r.u8().value();
  (void)r.u24().value();
  return r;
}
ByteReader fields(const Box& b) {
  std::uint8_t version;
  return fields(b, version);
}

// Readers of the tables, expanding the runs back into one value per sample (or chunk).
U32s read_runs(const Box& b) {  // stts, ctts
  ByteReader r = fields(b);
  U32s out;
  for (std::uint32_t n = r.u32().value(); n > 0; --n) {
    const std::uint32_t count = r.u32().value(), value = r.u32().value();
    out.insert(out.end(), count, value);
  }
  CHECK(r.empty());
  return out;
}
U32s read_stsz(const Box& b) {
  ByteReader r = fields(b);
  const std::uint32_t size = r.u32().value(), count = r.u32().value();
  U32s out(size ? count : 0, size);
  for (std::uint32_t i = 0; size == 0 && i < count; ++i) out.push_back(r.u32().value());
  CHECK(r.empty());
  return out;
}
U32s read_stsc(const Box& b, std::size_t chunk_count) {
  ByteReader r = fields(b);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> entries;
  for (std::uint32_t n = r.u32().value(); n > 0; --n) {
    const std::uint32_t first = r.u32().value(), samples = r.u32().value();
    CHECK_EQ(r.u32().value(), 1u);  // sample_description_index
    entries.push_back({first, samples});
  }
  CHECK(r.empty());
  U32s out;
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const std::size_t last = e + 1 < entries.size() ? entries[e + 1].first - 1 : chunk_count;
    for (std::size_t c = entries[e].first; c <= last; ++c) out.push_back(entries[e].second);
  }
  return out;
}
U64s read_offsets(const Box& b) {  // stco or co64
  ByteReader r = fields(b);
  U64s out;
  for (std::uint32_t n = r.u32().value(); n > 0; --n) out.push_back(b.type == "co64" ? r.u64().value() : r.u32().value());
  CHECK(r.empty());
  return out;
}
std::vector<Edit> read_elst(const Box& b, std::uint8_t& version) {
  ByteReader r = fields(b, version);
  std::vector<Edit> out;
  for (std::uint32_t n = r.u32().value(); n > 0; --n) {
    Edit e;
    e.segment_duration = version == 1 ? r.u64().value() : r.u32().value();
    e.media_time = version == 1 ? static_cast<std::int64_t>(r.u64().value())
                                : static_cast<std::int32_t>(r.u32().value());
    CHECK_EQ(r.u32().value(), 0x00010000u);  // media_rate 1.0
    out.push_back(e);
  }
  CHECK(r.empty());
  return out;
}

template <typename Write, typename Values>
Box written(Write write, const Values& values) {
  ByteWriter w;
  write(w, values);
  static std::vector<std::vector<std::byte>> keep;  // the boxes' payload spans point here
  keep.push_back(std::vector<std::byte>(w.view().begin(), w.view().end()));
  std::vector<Box> boxes = parse_boxes(keep.back(), 0, keep.back().size());
  CHECK_EQ(boxes.size(), 1u);
  return boxes.empty() ? Box{} : boxes[0];
}

std::vector<std::byte> bytes_of(void (*write)(ByteWriter&, std::span<const std::uint32_t>), const U32s& v) {
  ByteWriter w;
  write(w, v);
  return {w.view().begin(), w.view().end()};
}

// --- tracks -------------------------------------------------------------------------------

Sample sample(std::uint64_t offset, std::uint32_t size, std::int64_t pts, std::int64_t dts, std::uint32_t duration,
              bool sync) {
  return Sample{offset, size, pts, dts, duration, static_cast<std::int32_t>(pts - dts), sync};
}

struct Clip {
  std::vector<std::byte> file;
  std::vector<Box> top;
  const Box* trak(std::size_t n) const {
    for (const Box& b : top)
      if (b.type == "moov")
        for (const Box& c : b.children)
          if (c.type == "trak" && n-- == 0) return &c;
    return nullptr;
  }
  const Box* table(std::size_t n, const char* type) const { return under(trak(n), {"mdia", "minf", "stbl", type}); }
};

Clip write(std::span<const ClipTrack> tracks) {
  ScatterOutput out;
  Clip c;
  const auto status = write_clip(tracks, out);
  CHECK(status.ok());
  if (!status.ok()) return c;
  const kvsmux::ByteBuffer flat = out.flatten();
  c.file.assign(flat.begin(), flat.end());
  c.top = parse_boxes(c.file, 0, c.file.size());
  return c;
}

}  // namespace

// --- the tables, byte for byte ----------------------------------------------------------

TEST_CASE(stts_is_run_length_coded) {
  CHECK(bytes_of(write_stts, {3000, 3000, 3000, 3003, 3000}) == check::bytes({
            0x00, 0x00, 0x00, 0x28, 's', 't', 't', 's',  // size 40, TimeToSampleBox
            0x00, 0x00, 0x00, 0x00,                      // version 0, flags 0
            0x00, 0x00, 0x00, 0x03,                      // entry_count 3
            0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x0b, 0xb8,  // 3 samples of 3000
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0b, 0xbb,  // 1 sample of 3003
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0b, 0xb8,  // 1 sample of 3000
        }));
  for (const U32s& d : {U32s{}, U32s{7}, U32s{1, 2, 2, 3, 3, 3}, U32s(1000, 1024)})
    CHECK(read_runs(written(write_stts, d)) == d);
  CHECK(bytes_of(write_stts, {}) == check::bytes({0, 0, 0, 16, 's', 't', 't', 's', 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST_CASE(ctts_is_version_0_and_run_length_coded) {
  const U32s offsets{6030, 0, 0, 3060, 3060, 6030};
  std::uint8_t version = 9;
  const Box b = written(write_ctts, offsets);
  (void)fields(b, version);
  CHECK_EQ(b.type, std::string("ctts"));
  CHECK_EQ(version, 0);
  CHECK_EQ(b.size, 16u + 4 * 8);  // 4 runs
  CHECK(read_runs(b) == offsets);
}

TEST_CASE(stsz_constant_size_has_no_table) {
  CHECK(bytes_of(write_stsz, {160, 160, 160}) == check::bytes({
            0x00, 0x00, 0x00, 0x14, 's', 't', 's', 'z',  // size 20, SampleSizeBox
            0x00, 0x00, 0x00, 0x00,                      // version 0, flags 0
            0x00, 0x00, 0x00, 0xa0,                      // sample_size 160: no table follows
            0x00, 0x00, 0x00, 0x03,                      // sample_count 3
        }));
  CHECK_EQ(bytes_of(write_stsz, {5, 6}).size(), 20u + 8);
  CHECK_EQ(bytes_of(write_stsz, {0, 0}).size(), 20u + 8);  // size 0 cannot be the constant
  for (const U32s& s : {U32s{}, U32s{1}, U32s{160, 160}, U32s{5, 6, 5}, U32s{0, 0}})
    CHECK(read_stsz(written(write_stsz, s)) == s);
}

TEST_CASE(stsc_has_one_entry_per_run_of_chunks) {
  CHECK(bytes_of(write_stsc, {5, 5, 3, 5}) == check::bytes({
            0x00, 0x00, 0x00, 0x34, 's', 't', 's', 'c',  // size 52, SampleToChunkBox
            0x00, 0x00, 0x00, 0x00,                      // version 0, flags 0
            0x00, 0x00, 0x00, 0x03,                      // entry_count 3
            0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 1,          // chunks 1-2: 5 samples, description 1
            0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 1,          // chunk 3: 3 samples
            0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 1,          // chunk 4 on: 5 samples
        }));
  for (const U32s& c : {U32s{}, U32s{1}, U32s{30, 30, 30}, U32s{30, 29, 30, 30, 1}})
    CHECK(read_stsc(written(write_stsc, c), c.size()) == c);
}

TEST_CASE(chunk_offsets_switch_to_co64_only_past_32_bits) {
  const U64s fits{48, 0xFFFFFFFFull}, wide{48, 0x100000000ull};
  const Box a = written(write_chunk_offsets, fits), b = written(write_chunk_offsets, wide);
  CHECK_EQ(a.type, std::string("stco"));
  CHECK_EQ(a.size, 16u + 2 * 4);
  CHECK(read_offsets(a) == fits);
  CHECK_EQ(b.type, std::string("co64"));
  CHECK_EQ(b.size, 16u + 2 * 8);
  CHECK(read_offsets(b) == wide);
}

TEST_CASE(elst_with_an_empty_edit) {
  const std::vector<Edit> edits{{21, kEmptyEdit}, {2001, 3060}};
  ByteWriter w;
  write_edts(w, edits);
  CHECK(std::vector<std::byte>(w.view().begin(), w.view().end()) == check::bytes({
            0x00, 0x00, 0x00, 0x30, 'e', 'd', 't', 's',  // size 48, EditBox
            0x00, 0x00, 0x00, 0x28, 'e', 'l', 's', 't',  // size 40, EditListBox
            0x00, 0x00, 0x00, 0x00,                      // version 0, flags 0
            0x00, 0x00, 0x00, 0x02,                      // entry_count 2
            0x00, 0x00, 0x00, 0x15, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00,  // 21 ms empty (media_time -1), rate 1
            0x00, 0x00, 0x07, 0xd1, 0x00, 0x00, 0x0b, 0xf4, 0x00, 0x01, 0x00, 0x00,  // 2001 ms from media time 3060
        }));
  std::uint8_t version = 9;
  CHECK(read_elst(written(write_elst, edits), version) == edits);
  CHECK_EQ(version, 0);
  // Version 1 as soon as one duration or media time needs 64 bits.
  using Edits = std::vector<Edit>;
  for (const Edits& wide : {Edits{{0x100000000ull, 0}}, Edits{{5, kEmptyEdit}, {1, 0x80000000ll}}}) {
    CHECK(read_elst(written(write_elst, wide), version) == wide);
    CHECK_EQ(version, 1);
  }
}

// --- whole clips --------------------------------------------------------------------------

// Video with B-frames in two fragments and A-law audio that starts 100 ms later: the ctts
// shift, the empty edit, stss, stsc, chunk order and chunk offsets.
TEST_CASE(clip_timeline_chunks_and_offsets) {
  std::vector<std::byte> input(4000);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<std::byte>(i * 7 + i / 251);
  const auto video = track(1, 1, "V_MPEG4/ISO/AVC", kAvcC);
  const auto audio = track(2, 2, "A_MS/ACM", kAlawFormat);
  // Decode order I P B B | I P B: pts 0 9000 3000 6000 | 12000 18000 15000 (90 kHz); the
  // decode times are the sorted pts, as media::track_samples makes them.
  const std::vector<Sample> v1{sample(100, 50, 0, 0, 3000, true), sample(150, 40, 9000, 3000, 3000, false),
                               sample(190, 30, 3000, 6000, 3000, false), sample(220, 30, 6000, 9000, 3000, false)};
  const std::vector<Sample> v2{sample(1000, 60, 12000, 12000, 3000, true), sample(1060, 40, 18000, 15000, 3000, false),
                               sample(2000, 30, 15000, 18000, 3000, false)};
  // Audio at 8 kHz: 160-sample frames from 100 ms (pts 800), in two fragments.
  const std::vector<Sample> a1{sample(3000, 160, 800, 800, 160, true), sample(3160, 160, 960, 960, 160, true)};
  const std::vector<Sample> a2{sample(3500, 160, 1120, 1120, 160, true)};
  const ClipTrack tracks[] = {{&video, 1, 90000, {{input, 0, v1}, {input, 0, v2}}},
                              {&audio, 2, 8000, {{input, 0, a1}, {input, 0, a2}}}};
  const Clip c = write(tracks);
  CHECK_EQ(c.top.size(), 3u);
  CHECK_EQ(c.top[0].type, std::string("ftyp"));
  CHECK_EQ(c.top[1].type, std::string("moov"));
  CHECK_EQ(c.top[2].type, std::string("mdat"));
  CHECK(std::vector<std::byte>(c.file.begin() + 8, c.file.begin() + 32) ==
        check::bytes({'i', 's', 'o', 'm', 0, 0, 2, 0,                                      // major isom, minor 512
                      'i', 's', 'o', 'm', 'i', 's', 'o', '2', 'a', 'v', 'c', '1', 'm', 'p', '4', '1'}));

  // Video: decode times 0..18000 shifted by max(dts - pts) = 3000, so ctts = pts - dts + 3000.
  CHECK(read_runs(*c.table(0, "stts")) == U32s(7, 3000));
  CHECK(read_runs(*c.table(0, "ctts")) == (U32s{3000, 9000, 0, 0, 3000, 6000, 0}));
  CHECK(read_stsz(*c.table(0, "stsz")) == (U32s{50, 40, 30, 30, 60, 40, 30}));
  CHECK(read_stsc(*c.table(0, "stsc"), 2) == (U32s{4, 3}));
  {
    ByteReader r = fields(*c.table(0, "stss"));
    CHECK_EQ(r.u32().value(), 2u);
    CHECK_EQ(r.u32().value(), 1u);
    CHECK_EQ(r.u32().value(), 5u);
  }
  // Audio: no ctts (all 0), no stss, a constant size.
  CHECK(c.table(1, "ctts") == nullptr);
  CHECK(c.table(1, "stss") == nullptr);
  CHECK(read_stsz(*c.table(1, "stsz")) == U32s(3, 160));
  CHECK(read_stsc(*c.table(1, "stsc"), 2) == (U32s{2, 1}));

  // Edits: video starts at t0 = 0 at media time 3000 (its first pts after the shift); audio
  // waits 100 ms, then plays from media time 0. Durations in ms, rounded up.
  std::uint8_t version = 9;
  CHECK(read_elst(*under(c.trak(0), {"edts", "elst"}), version) == (std::vector<Edit>{{234, 3000}}));
  CHECK(read_elst(*under(c.trak(1), {"edts", "elst"}), version) == (std::vector<Edit>{{100, kEmptyEdit}, {60, 0}}));

  // Chunks in time order: V1 (0 ms), A1 (100 ms), V2 (133 ms), A2 (140 ms); each chunk offset
  // lands on its first sample's bytes, and the samples follow each other.
  const Box& mdat = c.top[2];
  const std::size_t payload = mdat.offset + mdat.header;
  CHECK_EQ(mdat.size - mdat.header, 50u + 40 + 30 + 30 + 60 + 40 + 30 + 3 * 160);
  const U64s vo = read_offsets(*c.table(0, "stco")), ao = read_offsets(*c.table(1, "stco"));
  CHECK(vo == (U64s{payload, payload + 150 + 320}));
  CHECK(ao == (U64s{payload + 150, payload + 150 + 320 + 130}));
  auto same_bytes = [&](std::uint64_t at, std::uint64_t input_offset, std::size_t n) {
    return std::equal(c.file.begin() + static_cast<std::ptrdiff_t>(at), c.file.begin() + static_cast<std::ptrdiff_t>(at + n),
                      input.begin() + static_cast<std::ptrdiff_t>(input_offset));
  };
  CHECK(same_bytes(vo[0], 100, 150));
  CHECK(same_bytes(ao[0], 3000, 320));
  CHECK(same_bytes(vo[1], 1000, 100));
  CHECK(same_bytes(vo[1] + 100, 2000, 30));
  CHECK(same_bytes(ao[1], 3500, 160));

  // Durations: mdhd in the media timescale, tkhd and mvhd in ms.
  auto duration_of = [](const Box& b, std::size_t skip) {
    ByteReader r = fields(b);
    for (std::size_t i = 0; i < skip; ++i) (void)r.u32().value();
    return r.u32().value();
  };
  CHECK_EQ(duration_of(*under(c.trak(0), {"mdia", "mdhd"}), 3), 21000u);
  CHECK_EQ(duration_of(*under(c.trak(1), {"mdia", "mdhd"}), 3), 480u);
  CHECK_EQ(duration_of(*under(c.trak(0), {"tkhd"}), 4), 234u);
  CHECK_EQ(duration_of(*under(c.trak(1), {"tkhd"}), 4), 160u);
  CHECK_EQ(duration_of(*c.top[1].child("mvhd"), 3), 234u);
}

// All-sync video has no stss; a track with no samples has empty tables and no edit list;
// the clip starts at the earliest track even when it is not the first.
TEST_CASE(clip_all_sync_and_empty_track) {
  std::vector<std::byte> input(1000, std::byte{1});
  const auto video = track(1, 1, "V_MPEG4/ISO/AVC", kAvcC);
  const auto audio = track(2, 2, "A_MS/ACM", kAlawFormat);
  const std::vector<Sample> v{sample(0, 10, 9000, 9000, 3000, true), sample(10, 10, 12000, 12000, 3000, true)};
  const ClipTrack tracks[] = {{&video, 1, 90000, {{input, 0, v}}}, {&audio, 2, 8000, {}}};
  const Clip c = write(tracks);
  CHECK(c.table(0, "stss") == nullptr);
  CHECK(c.table(0, "ctts") == nullptr);
  std::uint8_t version;
  CHECK(read_elst(*under(c.trak(0), {"edts", "elst"}), version) == (std::vector<Edit>{{67, 0}}));
  CHECK(under(c.trak(1), {"edts"}) == nullptr);
  CHECK(read_stsz(*c.table(1, "stsz")).empty());
  CHECK(read_offsets(*c.table(1, "stco")).empty());
}

// More than 4 GiB of media: the mdat gets a largesize and the chunks past 2^32 force co64 in
// their track only; the moov is measured again after the switch. The input is reserved
// address space that is never touched (only spans of it are kept).
TEST_CASE(clip_switches_to_co64_past_4_gib) {
  const std::size_t size = (std::size_t{1} << 32) + (std::size_t{1} << 20);
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CHECK(map != MAP_FAILED);
  if (map == MAP_FAILED) return;
  const ByteSpan input(static_cast<const std::byte*>(map), size);
  const auto video = track(1, 1, "V_MPEG4/ISO/AVC", kAvcC);
  const auto audio = track(2, 2, "A_MS/ACM", kAlawFormat);
  const std::vector<Sample> v1{sample(0, 0x80000000u, 90, 90, 3000, true),
                               sample(0x80000000u, 0x7FFFFFFFu, 3090, 3090, 3000, false)};
  const std::vector<Sample> v2{sample(0xFFFFFFFFull, 1000, 6090, 6090, 3000, true)};
  const std::vector<Sample> a1{sample(0x100010000ull, 160, 0, 0, 160, true)};
  const ClipTrack tracks[] = {{&video, 1, 90000, {{input, 0, v1}, {input, 0, v2}}}, {&audio, 2, 8000, {{input, 0, a1}}}};
  ScatterOutput out;
  CHECK(write_clip(tracks, out).ok());
  // Only the generated bytes (ftyp, moov, mdat header) are read; the media stays by reference.
  const ByteSpan head = out.generated();
  CHECK_EQ(out.size(), head.size() + 0xFFFFFFFFull + 1000 + 160);
  Clip c;
  c.top = parse_boxes(head, 0, static_cast<std::size_t>(out.size()));
  CHECK_EQ(c.top.size(), 3u);
  if (c.top.size() != 3) return;
  CHECK_EQ(c.top[2].header, 16u);  // largesize
  CHECK_EQ(c.top[2].offset + c.top[2].header, head.size());
  const std::uint64_t payload = head.size();
  // Chunks: A1 (t 0), V1 (t 1 ms), V2 (t 67 ms): only the video's second chunk is past 2^32.
  CHECK(c.table(0, "co64") != nullptr && c.table(0, "stco") == nullptr);
  CHECK(c.table(1, "stco") != nullptr && c.table(1, "co64") == nullptr);
  CHECK(read_offsets(*c.table(0, "co64")) == (U64s{payload + 160, payload + 160 + 0xFFFFFFFFull}));
  CHECK(read_offsets(*c.table(1, "stco")) == (U64s{payload}));
  std::uint8_t version;
  CHECK(read_elst(*under(c.trak(0), {"edts", "elst"}), version) == (std::vector<Edit>{{1, kEmptyEdit}, {100, 0}}));
  munmap(map, size);
}

TEST_CASE(clip_errors) {
  std::vector<std::byte> input(100);
  const auto video = track(1, 1, "V_MPEG4/ISO/AVC", kAvcC);
  const auto opus = track(2, 2, "A_OPUS", "00");
  const std::vector<Sample> v{sample(90, 20, 0, 0, 3000, true)};
  auto error_of = [](std::span<const ClipTrack> tracks) {
    ScatterOutput out;
    auto status = write_clip(tracks, out);
    return status.ok() ? kvsmux::Error{} : status.error();
  };
  {
    const ClipTrack t[] = {{&video, 1, 90000, {{input, 0, v}}}};
    const auto e = error_of(t);
    CHECK(e.code == Errc::kTruncated);
    CHECK_EQ(e.offset, 90u);
    CHECK_EQ(e.detail, std::string("sample of 20 bytes is outside the input"));
  }
  {
    const ClipTrack t[] = {{&video, 1, 90000, {{ByteSpan(input).subspan(50), 50, v}}}};  // input_offset 50: ends at 100
    CHECK(error_of(t).code == Errc::kTruncated);
    const std::vector<Sample> inside{sample(60, 20, 0, 0, 3000, true)};
    const ClipTrack ok[] = {{&video, 1, 90000, {{ByteSpan(input).subspan(50), 50, inside}}}};
    ScatterOutput out;
    CHECK(write_clip(ok, out).ok());
    const auto flat = out.flatten();
    CHECK(std::equal(flat.end() - 20, flat.end(), input.begin() + 60));
  }
  {
    const ClipTrack t[] = {{&video, 1, 0, {}}};
    const auto e = error_of(t);
    CHECK(e.code == Errc::kInvalidValue);
    CHECK_EQ(e.detail, std::string("track 1 has timescale 0"));
  }
  {
    const ClipTrack t[] = {{&video, 1, 90000, {}}, {&opus, 2, 48000, {}}};
    CHECK(error_of(t).code == Errc::kUnsupportedCodec);
  }
  CHECK(error_of({}).code == Errc::kInvalidValue);
}

TEST_MAIN()
