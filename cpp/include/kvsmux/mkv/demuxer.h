// SPDX-License-Identifier: Apache-2.0
// The incremental Matroska demuxer: EBML documents in, headers, fragments and tags out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kvsmux/ebml/vint.h"
#include "kvsmux/mkv/types.h"

namespace kvsmux::mkv {

/// Reads a stream of one or more EBML documents (an upload, a file, or concatenated
/// GetMedia chunks) given in any number of pieces. It never copies frame data: what it
/// reports are absolute byte ranges into the input.
///
/// The caller keeps a window of the input and calls `parse` whenever it grows. The window
/// must start at or before `retain_from()`; bytes before that are never looked at again.
/// A Cluster is reported once the next top-level element starts (or the input ends).
/// After an error the demuxer stops; what it reported before stays valid.
class Demuxer {
 public:
  explicit Demuxer(Limits limits = {}) : limits_(limits) {}

  /// Parses the bytes at absolute offsets [window_offset, window_offset + window.size()).
  /// `eof` means the input ends with this window.
  void parse(ByteSpan window, std::uint64_t window_offset, bool eof);

  /// Headers, fragments and tags completed since the last call, in input order.
  std::vector<Event> take_events() { return std::exchange(events_, {}); }

  const std::optional<Error>& error() const { return error_; }
  /// The first absolute offset the next `parse` still needs.
  std::uint64_t retain_from() const;
  /// `parse` makes no progress before the input reaches this absolute offset.
  std::uint64_t next_needed() const { return need_; }
  /// The absolute offset up to which the input has been parsed.
  std::uint64_t position() const { return pos_; }
  bool finished() const { return state_ == State::kDone || error_.has_value(); }
  std::uint32_t documents() const { return documents_; }
  std::uint64_t fragments() const { return fragment_count_; }

 private:
  enum class State { kTop, kExpectSegment, kSegment, kCluster, kDone };
  enum class Step { kContinue, kWait, kStop };

  Step step_top(ByteReader& r, bool eof);
  Step step_segment(ByteReader& r, bool eof);
  Step step_cluster(ByteReader& r, bool eof);
  Step cluster_child(const ebml::ElementHeader& h, ByteSpan data);
  // Reads the element header at pos_, or waits / fails when the window ends first.
  std::optional<ebml::ElementHeader> header_at(ByteReader& r, bool eof, Step& step);
  // The whole data of `h` when it is in the window, else waits / fails.
  std::optional<ByteSpan> whole(const ebml::ElementHeader& h, ByteReader& r, bool eof, Step& step);
  void end_document();
  void emit_header(std::uint64_t end);
  void finish_cluster(std::uint64_t end);
  Step fail(Error e, std::string_view element = {});
  std::string path(std::string_view element) const;

  Limits limits_;
  State state_ = State::kTop;
  std::uint64_t pos_ = 0;
  std::uint64_t need_ = 0;
  std::uint64_t window_end_ = 0;
  std::uint64_t work_ = 0;
  std::optional<Error> error_;
  std::vector<Event> events_;

  // The document being read.
  std::uint32_t documents_ = 0;
  Header header_;
  bool header_emitted_ = false;
  std::uint64_t segment_end_ = ebml::kUnknownSize;
  std::vector<TagsElement> pending_tags_;
  std::int64_t last_fragment_ = -1;  // the last fragment of this document, for Tags after it

  // The cluster being read.
  Fragment cluster_;
  std::uint64_t cluster_end_ = ebml::kUnknownSize;
  bool cluster_has_timestamp_ = false;
  std::uint64_t fragment_count_ = 0;
  ebml::ElementHeader skipped_{};  // the last element skipped, for truncation reports
};

}  // namespace kvsmux::mkv
