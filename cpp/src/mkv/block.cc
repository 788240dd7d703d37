// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mkv/block.h"

#include <array>
#include <string>

#include "kvsmux/ebml/vint.h"

namespace kvsmux::mkv {
namespace {

constexpr std::uint8_t kFlagKeyframe = 0x80;     // SimpleBlock only
constexpr std::uint8_t kFlagInvisible = 0x08;
constexpr std::uint8_t kFlagLacingMask = 0x06;
constexpr std::uint8_t kFlagDiscardable = 0x01;  // SimpleBlock only
enum Lacing : std::uint8_t { kNoLacing = 0, kXiphLacing = 2, kFixedLacing = 4, kEbmlLacing = 6 };

// RFC 9559 §10.3: the sizes of the first n-1 laces; the last takes what remains.
Status read_lace_sizes(ByteReader& r, std::uint8_t lacing, std::size_t count, std::array<std::uint64_t, 256>& sizes) {
  const std::uint64_t at = r.offset();
  std::uint64_t total = 0;
  if (lacing == kXiphLacing) {
    // §10.3.2: each size is a run of 255s ended by a byte below 255.
    for (std::size_t i = 0; i + 1 < count; ++i) {
      std::uint64_t size = 0;
      std::uint8_t b = 255;
      while (b == 255) {
        auto byte = r.u8();
        if (!byte.ok()) return make_error(Errc::kBadLacing, r.offset(), "Xiph lace sizes run past the block");
        b = byte.value();
        size += b;
      }
      sizes[i] = size;
      total += size;
    }
  } else if (lacing == kEbmlLacing) {
    // §10.3.3: the first size as a VINT, then signed VINT differences.
    std::int64_t previous = 0;
    for (std::size_t i = 0; i + 1 < count; ++i) {
      int len = 0;
      auto raw = ebml::read_vint(r, &len);
      if (!raw.ok()) return make_error(Errc::kBadLacing, r.offset(), "EBML lace sizes run past the block");
      std::int64_t size;
      if (i == 0) {
        size = static_cast<std::int64_t>(raw.value());
      } else {
        const std::int64_t bias = (std::int64_t{1} << (7 * len - 1)) - 1;
        size = previous + (static_cast<std::int64_t>(raw.value()) - bias);
      }
      if (size < 0 || static_cast<std::uint64_t>(size) > r.remaining())
        return make_error(Errc::kBadLacing, at, "EBML lace size out of range");
      sizes[i] = static_cast<std::uint64_t>(size);
      previous = size;
      total += sizes[i];
      if (total > r.remaining()) return make_error(Errc::kBadLacing, at, "lace sizes exceed the block");
    }
  } else {  // kFixedLacing, §10.3.4: equal sizes that divide the data exactly.
    if (r.remaining() % count != 0)
      return make_error(Errc::kBadLacing, at,
                        std::to_string(r.remaining()) + " bytes do not divide into " + std::to_string(count) + " laces");
    for (std::size_t i = 0; i + 1 < count; ++i) sizes[i] = r.remaining() / count;
    total = r.remaining() / count * (count - 1);
  }
  if (total > r.remaining()) return make_error(Errc::kBadLacing, at, "lace sizes exceed the block");
  sizes[count - 1] = r.remaining() - total;
  return Ok{};
}

bool to_ns(std::int64_t ticks, std::uint64_t scale, std::int64_t& out) {
  return !__builtin_mul_overflow(ticks, static_cast<std::int64_t>(scale), &out);
}

}  // namespace

Status parse_block(ByteReader r, bool simple, const BlockGroupInfo& group,
                   std::uint64_t cluster_timestamp_ticks, const Header& header,
                   const Limits& limits, std::vector<Frame>& out) {
  // RFC 9559 §10.1 (Block) and §10.2 (SimpleBlock): track VINT, int16 timestamp, flags.
  const std::uint64_t at = r.offset();
  auto track_number = ebml::read_vint(r);
  if (!track_number.ok()) {
    Error e = track_number.take_error();
    if (e.code == Errc::kTruncated) e.code = Errc::kElementOverflow;
    return e;
  }
  const Track* track = header.find_track(track_number.value());
  if (!track) return make_error(Errc::kUnknownTrack, at, "block for track " + std::to_string(track_number.value()) + ", not in Tracks");
  auto rel = r.u16();
  auto flags_byte = r.u8();
  if (!rel.ok() || !flags_byte.ok()) return make_error(Errc::kElementOverflow, at, "block header runs past the block");
  const std::uint8_t flags = flags_byte.value();
  const std::int64_t block_ticks = static_cast<std::int64_t>(cluster_timestamp_ticks) + static_cast<std::int16_t>(rel.value());
  if (cluster_timestamp_ticks > static_cast<std::uint64_t>(INT64_MAX / 2))
    return make_error(Errc::kInvalidValue, at, "cluster Timestamp out of range");

  std::size_t count = 1;
  std::array<std::uint64_t, 256> sizes{};
  const std::uint8_t lacing = flags & kFlagLacingMask;
  if (lacing != kNoLacing) {
    auto n = r.u8();
    if (!n.ok()) return make_error(Errc::kElementOverflow, at, "lace count runs past the block");
    count = std::size_t{n.value()} + 1;
    if (count > limits.max_lace_count) return make_error(Errc::kLimitExceeded, at, "too many laces");
    KVSMUX_CHECK(read_lace_sizes(r, lacing, count, sizes));
  } else {
    sizes[0] = r.remaining();
  }
  if (sizes[0] > UINT32_MAX && count == 1) return make_error(Errc::kLimitExceeded, at, "frame larger than 4 GiB");

  // Lace timestamps as FFmpeg's matroskadec computes them, so the two agree to the tick:
  // the block's duration (BlockDuration, else DefaultDuration × laces) is shared out.
  const std::uint64_t scale = header.timestamp_scale_ns;
  std::int64_t block_duration_ticks = 0;
  if (group.has_duration) block_duration_ticks = static_cast<std::int64_t>(group.duration_ticks);
  else if (count > 1 && track->default_duration_ns)
    block_duration_ticks = static_cast<std::int64_t>(track->default_duration_ns * count / scale);

  const bool key = simple ? (flags & kFlagKeyframe) != 0 : !group.has_reference;
  std::uint64_t offset = r.offset();
  std::int64_t elapsed_ticks = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (out.size() >= limits.max_frames_per_cluster)
      return make_error(Errc::kLimitExceeded, at, "more than " + std::to_string(limits.max_frames_per_cluster) + " frames in a cluster");
    Frame f{};
    f.offset = offset;
    f.size = static_cast<std::uint32_t>(sizes[i]);
    f.track = static_cast<std::uint32_t>(track->number);
    f.key = key;
    f.invisible = (flags & kFlagInvisible) != 0;
    f.discardable = simple && (flags & kFlagDiscardable) != 0;
    f.lace = static_cast<std::uint8_t>(count > 1 ? i : 0);
    const std::int64_t n = static_cast<std::int64_t>(count);
    const std::int64_t idx = static_cast<std::int64_t>(i);
    if (!to_ns(block_ticks + elapsed_ticks, scale, f.pts_ns))
      return make_error(Errc::kInvalidValue, at, "timestamp overflows 64-bit nanoseconds");
    if (count > 1) {
      const std::int64_t lace_ticks = block_duration_ticks * (idx + 1) / n - block_duration_ticks * idx / n;
      f.duration_ns = lace_ticks ? lace_ticks * static_cast<std::int64_t>(scale) : kUnknownDuration;
      elapsed_ticks += lace_ticks;
    } else if (group.has_duration) {
      if (!to_ns(block_duration_ticks, scale, f.duration_ns)) f.duration_ns = kUnknownDuration;
    } else {
      f.duration_ns = track->default_duration_ns ? static_cast<std::int64_t>(track->default_duration_ns) : kUnknownDuration;
    }
    out.push_back(f);
    offset += sizes[i];
  }
  return Ok{};
}

}  // namespace kvsmux::mkv
