// SPDX-License-Identifier: Apache-2.0
// Incremental demuxing of input that arrives in pieces, over buffers the demuxer owns.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "kvsmux/mkv/demuxer.h"

namespace kvsmux::mkv {

/// Immutable input bytes at absolute offsets [offset, offset + bytes.size()). Events hold
/// a shared reference, so frame data stays valid as long as any of them lives.
struct Block {
  std::uint64_t offset = 0;
  std::vector<std::byte> bytes;
  ByteSpan view(ByteRange r) const {
    return ByteSpan(bytes).subspan(static_cast<std::size_t>(r.offset - offset), static_cast<std::size_t>(r.size));
  }
};

/// An event and the block that holds its bytes (null for tags, which are parsed whole).
struct OwnedEvent {
  Event event;
  std::shared_ptr<const Block> block;
};

/// Feeds chunks of any size (down to one byte) to a Demuxer. The chunk is copied once
/// into a growing buffer; when events complete, that buffer is frozen into a Block they
/// share, and only the unfinished tail is carried over. Bytes of skipped elements
/// (Cues, Void, Attachments) are dropped without being stored.
class StreamDemuxer {
 public:
  explicit StreamDemuxer(Limits limits = {}) : demuxer_(limits) {}

  std::vector<OwnedEvent> feed(ByteSpan chunk);
  /// The input has ended: reports the last cluster (or the truncation error).
  std::vector<OwnedEvent> close();

  const std::optional<Error>& error() const { return demuxer_.error(); }
  bool finished() const { return demuxer_.finished(); }
  std::uint64_t bytes_received() const { return received_; }
  /// Bytes held for elements that are not complete yet.
  std::size_t buffered() const { return pending_.size(); }

 private:
  std::vector<OwnedEvent> run(bool eof);

  Demuxer demuxer_;
  std::vector<std::byte> pending_;
  std::uint64_t pending_offset_ = 0;  // absolute offset of pending_[0]
  std::uint64_t received_ = 0;
  bool closed_ = false;
};

}  // namespace kvsmux::mkv
