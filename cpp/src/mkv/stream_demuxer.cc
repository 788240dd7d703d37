// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mkv/stream_demuxer.h"

#include <algorithm>

namespace kvsmux::mkv {

std::vector<OwnedEvent> StreamDemuxer::feed(ByteSpan chunk) {
  if (closed_ || demuxer_.finished()) {
    received_ += chunk.size();
    return {};
  }
  const std::uint64_t chunk_offset = received_;
  received_ += chunk.size();
  // Bytes before retain_from() belong to elements being skipped: never store them. The
  // window never starts past what was received, so the demuxer always knows where input ends.
  const std::uint64_t keep_from = demuxer_.retain_from();
  if (pending_.empty()) pending_offset_ = std::min(std::max(chunk_offset, keep_from), received_);
  if (received_ > pending_offset_ + pending_.size()) {
    const std::uint64_t skip = pending_offset_ + pending_.size() - chunk_offset;
    pending_.insert(pending_.end(), chunk.begin() + static_cast<std::ptrdiff_t>(skip), chunk.end());
  }
  if (received_ < demuxer_.next_needed()) return {};
  return run(false);
}

std::vector<OwnedEvent> StreamDemuxer::close() {
  if (closed_) return {};
  closed_ = true;
  return run(true);
}

std::vector<OwnedEvent> StreamDemuxer::run(bool eof) {
  demuxer_.parse(pending_, pending_offset_, eof);
  std::vector<Event> events = demuxer_.take_events();
  const std::uint64_t keep_from = std::max(demuxer_.retain_from(), pending_offset_);
  const std::uint64_t pending_end = pending_offset_ + pending_.size();
  std::vector<OwnedEvent> out;
  if (events.empty()) {
    // Nothing references pending_ yet: drop the consumed prefix once it is the larger part.
    const std::uint64_t consumed = std::min(keep_from, pending_end) - pending_offset_;
    if (consumed > 0 && consumed * 2 >= pending_.size()) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(consumed));
      pending_offset_ += consumed;
    }
    if (keep_from >= pending_end) {  // skipping past everything received
      pending_.clear();
      pending_offset_ = pending_end;
    }
    return out;
  }
  // Freeze what was read into a Block the events share; carry the unfinished tail over.
  auto block = std::make_shared<Block>();
  block->offset = pending_offset_;
  block->bytes = std::move(pending_);
  pending_.clear();
  if (keep_from < pending_end) {
    const auto tail = block->bytes.begin() + static_cast<std::ptrdiff_t>(keep_from - block->offset);
    pending_.assign(tail, block->bytes.end());
  }
  pending_offset_ = std::min(keep_from, pending_end);
  out.reserve(events.size());
  for (Event& e : events) {
    const bool has_bytes = !std::holds_alternative<TagsEvent>(e);
    out.push_back(OwnedEvent{std::move(e), has_bytes ? block : nullptr});
  }
  return out;
}

}  // namespace kvsmux::mkv
