// SPDX-License-Identifier: Apache-2.0
// The ISO BMFF box writers behind fmp4.h, one function per box (STYLE §5), grouped by family:
// init.cc (movie and track headers), sample_entry.cc (codec configuration), fragment.cc
// (movie fragments). Public so that other writers and the round-trip tests can call them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kvsmux/media/samples.h"
#include "kvsmux/mkv/types.h"
#include "kvsmux/mp4/fmp4.h"
#include "kvsmux/writer.h"

namespace kvsmux::mp4 {

// --- codec configuration (sample_entry.cc) ----------------------------------------------

/// The sample entry a Matroska track becomes.
enum class SampleEntryKind : std::uint8_t { kAvc, kHevc, kAac, kAlaw, kUlaw };

/// What the sample entry of a track needs, validated by the codec parsers.
struct CodecConfig {
  SampleEntryKind kind = SampleEntryKind::kAvc;
  ByteSpan config;                // avcC / hvcC record or AudioSpecificConfig: the codec private, verbatim
  std::uint32_t width = 0;        // video: luma samples after cropping, from the SPS
  std::uint32_t height = 0;
  std::uint32_t sample_rate = 0;  // audio, Hz
  std::uint16_t channels = 0;     // audio
  std::string codec_string;       // RFC 6381
  bool video() const { return kind == SampleEntryKind::kAvc || kind == SampleEntryKind::kHevc; }
};

/// Resolves a track's codec: V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC, A_AAC*, and A_MS/ACM whose
/// WAVEFORMATEX format tag is 6 (A-law) or 7 (µ-law). kMissingCodecPrivate without codec
/// private, the parser's kInvalidCodecPrivate when malformed, kUnsupportedCodec otherwise.
/// `config` points into `track.codec_private_bytes`.
Result<CodecConfig> codec_config(const mkv::Track& track);

/// The checks every writer makes on a track it is given (present, timescale not 0), then
/// codec_config: shared by the init segment and the MP4 clip writers.
Result<CodecConfig> checked_codec_config(const mkv::Track* track, std::uint32_t timescale);

/// SampleDescriptionBox (ISO/IEC 14496-12 §8.5.2) with the track's one sample entry.
void write_stsd(ByteWriter& out, const CodecConfig& codec);

/// SampleDescriptionBox for a Matroska track: codec_config, then write_stsd; the codec's error otherwise.
Status write_stsd(ByteWriter& out, const mkv::Track& track);

// --- file, movie and track headers (init.cc), shared with the MP4 clip writer -----------

/// The brands of a FileTypeBox or SegmentTypeBox (ISO/IEC 14496-12 §4.3, §8.16.2).
struct Brands {
  FourCC major_brand;
  std::uint32_t minor_version = 0;
  std::span<const FourCC> compatible;
};
/// fMP4 init segments: major iso6 (tfdt, default-base-is-moof, trun version 1), compatible
/// iso6, mp41, dash; with cmfc (ISO/IEC 23000-19 §7.2) when there is exactly one track,
/// since a CMAF track file holds one track and a multiplexed file is not CMAF.
Brands fmp4_brands(std::size_t track_count);
/// fMP4 media segments: msdh (ISO/IEC 23009-1 §6.3.4.2, a DASH media segment) and iso6.
Brands segment_brands();

/// FileTypeBox (ISO/IEC 14496-12 §4.3).
void write_ftyp(ByteWriter& out, const Brands& brands);
/// MovieHeaderBox (ISO/IEC 14496-12 §8.2.2): version 1 only when `duration` needs 64 bits.
void write_mvhd(ByteWriter& out, std::uint32_t timescale, std::uint64_t duration, std::uint32_t next_track_id);
/// TrackHeaderBox (ISO/IEC 14496-12 §8.3.2), enabled and in the movie: the picture size of a
/// video track (from its codec private, square pixels), volume 1.0 for audio. Version 1
/// only when `duration` (movie timescale) needs 64 bits.
void write_tkhd(ByteWriter& out, const mkv::Track& track, std::uint32_t track_id, std::uint64_t duration);
/// MediaHeaderBox (ISO/IEC 14496-12 §8.4.2). `language` is the Matroska Language: absent is
/// its default "eng", anything but three lowercase letters is "und".
void write_mdhd(ByteWriter& out, std::uint32_t timescale, std::uint64_t duration, const std::string& language);
/// HandlerBox (ISO/IEC 14496-12 §8.4.3): vide for video tracks, soun otherwise.
void write_hdlr(ByteWriter& out, const mkv::Track& track);
/// vmhd (§12.1.2) for video tracks, smhd (§12.2.2) otherwise.
void write_media_header(ByteWriter& out, const mkv::Track& track);
/// DataInformationBox (ISO/IEC 14496-12 §8.7.1): one self-contained url entry.
void write_dinf(ByteWriter& out);

/// A track of an init segment.
struct InitTrack {
  const mkv::Track* track = nullptr;
  std::uint32_t track_id = 1;
  std::uint32_t timescale = 0;
  CodecConfig codec;  // codec_config(*track)
};

/// MovieBox (ISO/IEC 14496-12 §8.2.1) of a fragmented movie: mvhd, a trak per track (empty
/// sample tables, durations 0), mvex with a trex per track.
void write_moov(ByteWriter& out, std::span<const InitTrack> tracks);

// --- movie fragments (fragment.cc) --------------------------------------------------------

/// ISO/IEC 14496-12 §8.8.3.1 sample flags: a sync sample depends on no other
/// (sample_depends_on 2); any other sample depends on others and is_non_sync.
inline constexpr std::uint32_t kSyncSampleFlags = 0x02000000;
inline constexpr std::uint32_t kNonSyncSampleFlags = 0x01010000;
std::uint32_t sample_flags(const media::Sample& sample);

/// What a track fragment's tfhd and trun carry, derived from its samples (STYLE §5c): a
/// value that is the same for every sample goes into tfhd as a default, one that varies is
/// written per sample; flags that differ only on the first sample become first_sample_flags.
struct TrunLayout {
  std::optional<std::uint32_t> default_duration;
  std::optional<std::uint32_t> default_size;
  std::optional<std::uint32_t> default_flags;
  std::optional<std::uint32_t> first_sample_flags;
  bool per_sample_duration = false;
  bool per_sample_size = false;
  bool per_sample_flags = false;
  bool per_sample_cts = false;  // some composition offset is not 0
  bool negative_cts = false;    // trun version 1
  std::uint32_t tfhd_flags() const;
  std::uint32_t trun_flags() const;
};
TrunLayout derive_trun_layout(std::span<const media::Sample> samples);

/// SegmentTypeBox (ISO/IEC 14496-12 §8.16.2).
void write_styp(ByteWriter& out, const Brands& brands);
/// MovieFragmentBox (ISO/IEC 14496-12 §8.8.4) with one traf per run. Returns, per run, the
/// slot of its trun data_offset, to patch once the moof size is known.
[[nodiscard]] std::vector<Slot<std::int32_t>> write_moof(ByteWriter& out, std::uint32_t sequence_number,
                                                         std::span<const TrackRun> runs);
/// The MediaDataBox header (ISO/IEC 14496-12 §8.1.1) for a payload of `payload_size` bytes:
/// 8 bytes, or 16 with a 64-bit largesize when the box would not fit 32 bits. Returns its size.
std::size_t write_mdat_header(ByteWriter& out, std::uint64_t payload_size);

}  // namespace kvsmux::mp4
