// SPDX-License-Identifier: Apache-2.0
// Movie fragments (ISO/IEC 14496-12 §8.8.4-§8.8.12, §8.16.2): styp, moof and its track
// fragments, and the mdat header. tfhd and trun fields are derived from the samples.
#include <algorithm>
#include <cstdint>

#include "kvsmux/mp4/box.h"
#include "kvsmux/mp4/boxes.h"

namespace kvsmux::mp4 {
namespace {

// TrackFragmentHeaderBox tf_flags (ISO/IEC 14496-12 §8.8.7.1).
constexpr std::uint32_t kTfhdDefaultSampleDuration = 0x000008;
constexpr std::uint32_t kTfhdDefaultSampleSize = 0x000010;
constexpr std::uint32_t kTfhdDefaultSampleFlags = 0x000020;
constexpr std::uint32_t kTfhdDefaultBaseIsMoof = 0x020000;
// TrackRunBox tr_flags (ISO/IEC 14496-12 §8.8.8.1).
constexpr std::uint32_t kTrunDataOffset = 0x000001;
constexpr std::uint32_t kTrunFirstSampleFlags = 0x000004;
constexpr std::uint32_t kTrunSampleDuration = 0x000100;
constexpr std::uint32_t kTrunSampleSize = 0x000200;
constexpr std::uint32_t kTrunSampleFlags = 0x000400;
constexpr std::uint32_t kTrunSampleCompositionTimeOffset = 0x000800;

// Whether `value(s)` is the same for every sample from `from` on.
template <typename F>
bool all_same(std::span<const media::Sample> samples, std::size_t from, F value) {
  return std::all_of(samples.begin() + static_cast<std::ptrdiff_t>(from), samples.end(),
                     [&](const media::Sample& s) { return value(s) == value(samples[from]); });
}

// MovieFragmentHeaderBox (ISO/IEC 14496-12 §8.8.5).
void write_mfhd(ByteWriter& out, std::uint32_t sequence_number) {
  BoxScope box(out, FourCC{"mfhd"}, 0, 0);
  out.u32(sequence_number);
}

// TrackFragmentHeaderBox (ISO/IEC 14496-12 §8.8.7). default-base-is-moof: trun data offsets
// count from the moof, so a segment can be moved or served alone (CMAF requires it).
void write_tfhd(ByteWriter& out, std::uint32_t track_id, const TrunLayout& layout) {
  BoxScope box(out, FourCC{"tfhd"}, 0, layout.tfhd_flags());
  out.u32(track_id);
  if (layout.default_duration) out.u32(*layout.default_duration);
  if (layout.default_size) out.u32(*layout.default_size);
  if (layout.default_flags) out.u32(*layout.default_flags);
}

// TrackFragmentBaseMediaDecodeTimeBox (ISO/IEC 14496-12 §8.8.12), always version 1 (64-bit).
void write_tfdt(ByteWriter& out, std::uint64_t base_decode_time) {
  BoxScope box(out, FourCC{"tfdt"}, 1, 0);
  out.u64(base_decode_time);
}

// TrackRunBox (ISO/IEC 14496-12 §8.8.8): version 1 when a composition offset is negative
// (B-frames with decode times that never run ahead of presentation). Returns the
// data_offset slot, patched once the moof is complete.
[[nodiscard]] Slot<std::int32_t> write_trun(ByteWriter& out, std::span<const media::Sample> samples,
                                            const TrunLayout& layout) {
  BoxScope box(out, FourCC{"trun"}, layout.negative_cts ? 1 : 0, layout.trun_flags());
  out.u32(static_cast<std::uint32_t>(samples.size()));
  const Slot<std::int32_t> data_offset = out.reserve<std::int32_t>();
  if (layout.first_sample_flags) out.u32(*layout.first_sample_flags);
  for (const media::Sample& s : samples) {
    if (layout.per_sample_duration) out.u32(s.duration);
    if (layout.per_sample_size) out.u32(s.size);
    if (layout.per_sample_flags) out.u32(sample_flags(s));
    if (layout.per_sample_cts) out.i32(s.cts_offset);  // unsigned in version 0, when none is negative
  }
  return data_offset;
}

// TrackFragmentBox (ISO/IEC 14496-12 §8.8.6): tfhd, tfdt, one trun.
[[nodiscard]] Slot<std::int32_t> write_traf(ByteWriter& out, const TrackRun& run) {
  BoxScope box(out, FourCC{"traf"});
  const TrunLayout layout = derive_trun_layout(run.samples);
  write_tfhd(out, run.track_id, layout);
  write_tfdt(out, run.base_decode_time);
  return write_trun(out, run.samples, layout);
}

}  // namespace

std::uint32_t sample_flags(const media::Sample& sample) {
  return sample.sync ? kSyncSampleFlags : kNonSyncSampleFlags;
}

std::uint32_t TrunLayout::tfhd_flags() const {
  return kTfhdDefaultBaseIsMoof | (default_duration ? kTfhdDefaultSampleDuration : 0) |
         (default_size ? kTfhdDefaultSampleSize : 0) | (default_flags ? kTfhdDefaultSampleFlags : 0);
}

std::uint32_t TrunLayout::trun_flags() const {
  return kTrunDataOffset | (first_sample_flags ? kTrunFirstSampleFlags : 0) |
         (per_sample_duration ? kTrunSampleDuration : 0) | (per_sample_size ? kTrunSampleSize : 0) |
         (per_sample_flags ? kTrunSampleFlags : 0) | (per_sample_cts ? kTrunSampleCompositionTimeOffset : 0);
}

TrunLayout derive_trun_layout(std::span<const media::Sample> samples) {
  TrunLayout l;
  if (samples.empty()) return l;
  const auto duration = [](const media::Sample& s) { return s.duration; };
  const auto size = [](const media::Sample& s) { return s.size; };
  const auto flags = [](const media::Sample& s) { return sample_flags(s); };
  if (all_same(samples, 0, duration)) l.default_duration = samples[0].duration;
  else l.per_sample_duration = true;
  if (all_same(samples, 0, size)) l.default_size = samples[0].size;
  else l.per_sample_size = true;
  if (all_same(samples, 0, flags)) {
    l.default_flags = sample_flags(samples[0]);
  } else if (all_same(samples, 1, flags)) {  // a sync sample, then the rest of its GOP
    l.first_sample_flags = sample_flags(samples[0]);
    l.default_flags = sample_flags(samples[1]);
  } else {
    l.per_sample_flags = true;
  }
  l.per_sample_cts = std::any_of(samples.begin(), samples.end(), [](const media::Sample& s) { return s.cts_offset != 0; });
  l.negative_cts = std::any_of(samples.begin(), samples.end(), [](const media::Sample& s) { return s.cts_offset < 0; });
  return l;
}

void write_styp(ByteWriter& out, const Brands& brands) {
  // SegmentTypeBox, ISO/IEC 14496-12 §8.16.2: the same fields as a FileTypeBox.
  BoxScope box(out, FourCC{"styp"});
  out.fourcc(brands.major_brand);
  out.u32(brands.minor_version);
  for (FourCC b : brands.compatible) out.fourcc(b);
}

std::vector<Slot<std::int32_t>> write_moof(ByteWriter& out, std::uint32_t sequence_number,
                                           std::span<const TrackRun> runs) {
  // MovieFragmentBox, ISO/IEC 14496-12 §8.8.4.
  BoxScope box(out, FourCC{"moof"});
  write_mfhd(out, sequence_number);
  std::vector<Slot<std::int32_t>> data_offsets;
  data_offsets.reserve(runs.size());
  for (const TrackRun& run : runs) data_offsets.push_back(write_traf(out, run));
  return data_offsets;
}

std::size_t write_mdat_header(ByteWriter& out, std::uint64_t payload_size) {
  // MediaDataBox header, ISO/IEC 14496-12 §8.1.1 and §4.2: size 1 means a 64-bit largesize follows.
  constexpr std::uint64_t kCompactHeader = 8, kLargeHeader = 16;
  if (payload_size + kCompactHeader <= UINT32_MAX) {
    out.u32(static_cast<std::uint32_t>(payload_size + kCompactHeader));
    out.fourcc(FourCC{"mdat"});
    return kCompactHeader;
  }
  out.u32(1);
  out.fourcc(FourCC{"mdat"});
  out.u64(payload_size + kLargeHeader);
  return kLargeHeader;
}

}  // namespace kvsmux::mp4
