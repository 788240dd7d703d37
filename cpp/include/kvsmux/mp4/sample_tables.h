// SPDX-License-Identifier: Apache-2.0
// The sample tables of a non-fragmented track (ISO/IEC 14496-12 §8.6, §8.7) and its edit
// list (§8.6.5, §8.6.6). Each writer takes the per-sample (or per-chunk) values and derives
// the run-length entries, the compact forms and the box versions itself (STYLE §5c).
#pragma once

#include <cstdint>
#include <span>

#include "kvsmux/writer.h"

namespace kvsmux::mp4 {

/// `Edit::media_time` of an empty edit (ISO/IEC 14496-12 §8.6.6.3: media_time -1).
inline constexpr std::int64_t kEmptyEdit = -1;

/// One EditListBox entry; media_rate is always 1.
struct Edit {
  std::uint64_t segment_duration = 0;  // movie (mvhd) timescale
  std::int64_t media_time = 0;         // media (mdhd) timescale, or kEmptyEdit
  friend bool operator==(const Edit&, const Edit&) = default;
};

/// TimeToSampleBox (stts), ISO/IEC 14496-12 §8.6.1.2: one entry per run of equal durations.
void write_stts(ByteWriter& out, std::span<const std::uint32_t> durations);

/// CompositionOffsetBox (ctts) version 0, ISO/IEC 14496-12 §8.6.1.3: one entry per run of
/// equal offsets. Version 0 offsets are unsigned: the caller shifts decode times so that
/// every offset is >= 0.
void write_ctts(ByteWriter& out, std::span<const std::uint32_t> offsets);

/// SyncSampleBox (stss), ISO/IEC 14496-12 §8.6.2: the 1-based numbers of the sync samples.
void write_stss(ByteWriter& out, std::span<const std::uint32_t> sample_numbers);

/// SampleSizeBox (stsz), ISO/IEC 14496-12 §8.7.3.2: a single sample_size and no table when
/// every size is equal (and there is at least one sample), else one entry per sample.
void write_stsz(ByteWriter& out, std::span<const std::uint32_t> sizes);

/// SampleToChunkBox (stsc), ISO/IEC 14496-12 §8.7.4: one entry per run of chunks with the
/// same number of samples; sample_description_index is always 1.
void write_stsc(ByteWriter& out, std::span<const std::uint32_t> samples_per_chunk);

/// ChunkOffsetBox (stco), ISO/IEC 14496-12 §8.7.5. Every offset must fit 32 bits.
void write_stco(ByteWriter& out, std::span<const std::uint64_t> offsets);

/// ChunkLargeOffsetBox (co64), ISO/IEC 14496-12 §8.7.5.
void write_co64(ByteWriter& out, std::span<const std::uint64_t> offsets);

/// stco when every offset fits 32 bits, else co64.
void write_chunk_offsets(ByteWriter& out, std::span<const std::uint64_t> offsets);

/// EditListBox (elst), ISO/IEC 14496-12 §8.6.6: version 1 only when a segment duration or a
/// media time does not fit 32 bits.
void write_elst(ByteWriter& out, std::span<const Edit> edits);

/// EditBox (edts), ISO/IEC 14496-12 §8.6.5, holding one elst.
void write_edts(ByteWriter& out, std::span<const Edit> edits);

}  // namespace kvsmux::mp4
