// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mp4/sample_tables.h"

#include <limits>

#include "kvsmux/mp4/box.h"

namespace kvsmux::mp4 {
namespace {

constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

// Entry and sample counts: write_clip refuses tracks with more than 2^32-1 samples or
// chunks, so a count always fits.
std::uint32_t count32(std::size_t n) { return static_cast<std::uint32_t>(n); }

// Calls `emit(run_length, value)` for each run of equal values, in order.
template <typename T, typename Emit>
void for_each_run(std::span<const T> values, Emit emit) {
  std::size_t i = 0;
  while (i < values.size()) {
    std::size_t j = i + 1;
    while (j < values.size() && values[j] == values[i]) ++j;
    emit(count32(j - i), values[i], i);
    i = j;
  }
}

template <typename T>
std::size_t count_runs(std::span<const T> values) {
  std::size_t n = 0;
  for_each_run(values, [&](std::uint32_t, T, std::size_t) { ++n; });
  return n;
}

}  // namespace

// TimeToSampleBox, ISO/IEC 14496-12 §8.6.1.2.
void write_stts(ByteWriter& out, std::span<const std::uint32_t> durations) {
  BoxScope box(out, FourCC{"stts"}, 0, 0);
  out.u32(count32(count_runs(durations)));
  for_each_run(durations, [&](std::uint32_t count, std::uint32_t delta, std::size_t) {
    out.u32(count);
    out.u32(delta);
  });
}

// CompositionOffsetBox, ISO/IEC 14496-12 §8.6.1.3 (version 0: unsigned offsets).
void write_ctts(ByteWriter& out, std::span<const std::uint32_t> offsets) {
  BoxScope box(out, FourCC{"ctts"}, 0, 0);
  out.u32(count32(count_runs(offsets)));
  for_each_run(offsets, [&](std::uint32_t count, std::uint32_t offset, std::size_t) {
    out.u32(count);
    out.u32(offset);
  });
}

// SyncSampleBox, ISO/IEC 14496-12 §8.6.2.
void write_stss(ByteWriter& out, std::span<const std::uint32_t> sample_numbers) {
  BoxScope box(out, FourCC{"stss"}, 0, 0);
  out.u32(count32(sample_numbers.size()));
  for (std::uint32_t n : sample_numbers) out.u32(n);
}

// SampleSizeBox, ISO/IEC 14496-12 §8.7.3.2.
void write_stsz(ByteWriter& out, std::span<const std::uint32_t> sizes) {
  BoxScope box(out, FourCC{"stsz"}, 0, 0);
  // A constant size is written once (sample_size != 0 means "no table"); a zero size cannot
  // be, since sample_size 0 is what announces the table.
  const bool constant = !sizes.empty() && sizes[0] != 0 && count_runs(sizes) == 1;
  out.u32(constant ? sizes[0] : 0);
  out.u32(count32(sizes.size()));
  if (!constant)
    for (std::uint32_t s : sizes) out.u32(s);
}

// SampleToChunkBox, ISO/IEC 14496-12 §8.7.4.
void write_stsc(ByteWriter& out, std::span<const std::uint32_t> samples_per_chunk) {
  BoxScope box(out, FourCC{"stsc"}, 0, 0);
  out.u32(count32(count_runs(samples_per_chunk)));
  for_each_run(samples_per_chunk, [&](std::uint32_t, std::uint32_t samples, std::size_t first) {
    out.u32(count32(first + 1));  // first_chunk is 1-based
    out.u32(samples);
    out.u32(1);                   // sample_description_index: the one stsd entry
  });
}

// ChunkOffsetBox, ISO/IEC 14496-12 §8.7.5.
void write_stco(ByteWriter& out, std::span<const std::uint64_t> offsets) {
  BoxScope box(out, FourCC{"stco"}, 0, 0);
  out.u32(count32(offsets.size()));
  for (std::uint64_t o : offsets) out.u32(static_cast<std::uint32_t>(o));
}

// ChunkLargeOffsetBox, ISO/IEC 14496-12 §8.7.5.
void write_co64(ByteWriter& out, std::span<const std::uint64_t> offsets) {
  BoxScope box(out, FourCC{"co64"}, 0, 0);
  out.u32(count32(offsets.size()));
  for (std::uint64_t o : offsets) out.u64(o);
}

void write_chunk_offsets(ByteWriter& out, std::span<const std::uint64_t> offsets) {
  bool fits = true;
  for (std::uint64_t o : offsets) fits = fits && o <= kU32Max;
  if (fits) write_stco(out, offsets);
  else write_co64(out, offsets);
}

// EditListBox, ISO/IEC 14496-12 §8.6.6.
void write_elst(ByteWriter& out, std::span<const Edit> edits) {
  bool wide = false;
  for (const Edit& e : edits)
    wide = wide || e.segment_duration > kU32Max || e.media_time > std::numeric_limits<std::int32_t>::max() ||
           e.media_time < std::numeric_limits<std::int32_t>::min();
  BoxScope box(out, FourCC{"elst"}, wide ? 1 : 0, 0);
  out.u32(count32(edits.size()));
  for (const Edit& e : edits) {
    if (wide) {
      out.u64(e.segment_duration);
      out.u64(static_cast<std::uint64_t>(e.media_time));
    } else {
      out.u32(static_cast<std::uint32_t>(e.segment_duration));
      out.i32(static_cast<std::int32_t>(e.media_time));
    }
    out.i16(1);  // media_rate_integer
    out.i16(0);  // media_rate_fraction
  }
}

// EditBox, ISO/IEC 14496-12 §8.6.5.
void write_edts(ByteWriter& out, std::span<const Edit> edits) {
  BoxScope box(out, FourCC{"edts"});
  write_elst(out, edits);
}

}  // namespace kvsmux::mp4
