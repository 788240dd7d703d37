// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mkv/demuxer.h"

#include <string>

#include "kvsmux/ebml/children.h"
#include "kvsmux/ebml/elements.h"
#include "kvsmux/mkv/block.h"
#include "kvsmux/mkv/headers.h"
#include "kvsmux/mkv/tags.h"

namespace kvsmux::mkv {
namespace ids = ebml::id;
using ebml::ElementHeader;
using ebml::element_name;
using ebml::kUnknownSize;

namespace {

std::string bytes_text(std::uint64_t n) { return std::to_string(n) + " bytes"; }

}  // namespace

std::uint64_t Demuxer::retain_from() const {
  if (finished()) return pos_;
  if (state_ == State::kCluster) return cluster_.range.offset;
  if (state_ != State::kTop && !header_emitted_) return header_.range.offset;
  return pos_;
}

std::string Demuxer::path(std::string_view element) const {
  std::string p;
  switch (state_) {
    case State::kTop:
    case State::kDone: break;
    case State::kExpectSegment: p = "EBML"; break;
    case State::kSegment: p = "Segment"; break;
    case State::kCluster: p = "Segment/Cluster[" + std::to_string(cluster_.index) + "]"; break;
  }
  if (!element.empty()) p = p.empty() ? std::string(element) : p + "/" + std::string(element);
  return p;
}

Demuxer::Step Demuxer::fail(Error e, std::string_view element) {
  const std::string where = path(element);
  e.path = e.path.empty() ? where : (where.empty() ? e.path : where + "/" + e.path);
  if (state_ == State::kCluster && e.code == Errc::kTruncated) {
    // The input ended inside this cluster: report the frames that are complete.
    cluster_.truncated = true;
    finish_cluster(pos_);
  }
  // What was read of a document's header is still worth reporting (tracks for `probe`).
  if (state_ != State::kTop && state_ != State::kDone && !header_emitted_ && documents_ > 0 &&
      header_.index + 1 == documents_)
    emit_header(pos_);
  error_ = std::move(e);
  return Step::kStop;
}

void Demuxer::emit_header(std::uint64_t end) {
  header_.range.size = end - header_.range.offset;
  events_.emplace_back(header_);
  header_emitted_ = true;
}

void Demuxer::finish_cluster(std::uint64_t end) {
  cluster_.range.size = end - cluster_.range.offset;
  last_fragment_ = static_cast<std::int64_t>(cluster_.index);
  ++fragment_count_;
  events_.emplace_back(std::move(cluster_));
  cluster_ = Fragment{};
  state_ = State::kSegment;
}

void Demuxer::end_document() {
  // A document without clusters still reports its header, and its tags belong to no fragment.
  if (!header_emitted_) emit_header(pos_);
  for (TagsElement& t : pending_tags_) events_.emplace_back(TagsEvent{-1, std::move(t)});
  pending_tags_.clear();
  state_ = State::kTop;
}

std::optional<ElementHeader> Demuxer::header_at(ByteReader& r, bool eof, Step& step) {
  auto h = ebml::read_element_header(r);
  if (h.ok()) return h.value();
  Error e = h.take_error();
  if (e.code == Errc::kTruncated && !eof) {
    need_ = window_end_ + 1;
    step = Step::kWait;
  } else {
    if (e.code == Errc::kTruncated) e.detail = "input ends inside an element header";
    step = fail(std::move(e));
  }
  return std::nullopt;
}

std::optional<ByteSpan> Demuxer::whole(const ElementHeader& h, ByteReader& r, bool eof, Step& step) {
  const std::string name = element_name(h.id);
  if (h.unknown_size()) {
    step = fail(make_error(Errc::kUnknownSizeNotAllowed, h.offset, name + " has unknown size"), name);
    return std::nullopt;
  }
  if (h.size > limits_.max_element_size) {
    step = fail(make_error(Errc::kLimitExceeded, h.offset,
                           name + " of " + bytes_text(h.size) + " exceeds the element size limit of " +
                               bytes_text(limits_.max_element_size)),
                name);
    return std::nullopt;
  }
  if (h.end() <= window_end_) return r.take(h.size).value();
  if (eof) {
    step = fail(make_error(Errc::kTruncated, h.offset,
                           name + " of " + bytes_text(h.size) + " ends at " + std::to_string(h.end()) +
                               ", input ends at " + std::to_string(window_end_)),
                name);
  } else {
    need_ = h.end();
    step = Step::kWait;
  }
  return std::nullopt;
}

void Demuxer::parse(ByteSpan window, std::uint64_t window_offset, bool eof) {
  if (finished()) return;
  window_end_ = window_offset + window.size();
  if (window_offset > retain_from()) {
    error_ = make_error(Errc::kInvalidValue, window_offset, "input window starts after bytes the demuxer still needs");
    return;
  }
  if (!eof && window_end_ < need_) return;
  for (;;) {
    if (++work_ > limits_.work_base + limits_.max_work_per_byte * window_end_) {
      fail(make_error(Errc::kLimitExceeded, pos_, "parse work limit exceeded"));
      return;
    }
    if (pos_ > window_end_) {  // skipping an element whose bytes have not all arrived
      if (!eof) {
        need_ = pos_;
        return;
      }
      fail(make_error(Errc::kTruncated, skipped_.offset,
                      element_name(skipped_.id) + " of " + bytes_text(skipped_.size) + " ends at " +
                          std::to_string(skipped_.end()) + ", input ends at " + std::to_string(window_end_)),
           element_name(skipped_.id));
      return;
    }
    ByteReader r(window.subspan(static_cast<std::size_t>(pos_ - window_offset)), pos_);
    Step step = Step::kContinue;
    switch (state_) {
      case State::kTop:
      case State::kExpectSegment: step = step_top(r, eof); break;
      case State::kSegment: step = step_segment(r, eof); break;
      case State::kCluster: step = step_cluster(r, eof); break;
      case State::kDone: return;
    }
    if (step != Step::kContinue) return;
  }
}

Demuxer::Step Demuxer::step_top(ByteReader& r, bool eof) {
  // RFC 8794 §11.2, RFC 9559 §4: each document is an EBML header and one Segment.
  const bool want_segment = state_ == State::kExpectSegment;
  if (r.empty()) {
    if (!eof) {
      need_ = pos_ + 1;
      return Step::kWait;
    }
    if (want_segment) return fail(make_error(Errc::kTruncated, pos_, "input ends before the Segment"));
    if (documents_ == 0) return fail(make_error(Errc::kTruncated, pos_, "input holds no EBML document"));
    state_ = State::kDone;
    return Step::kStop;
  }
  Step step = Step::kContinue;
  auto h = header_at(r, eof, step);
  if (!h) return step;
  if (!want_segment) {
    if (h->id != ids::kEBML)
      return fail(make_error(Errc::kUnexpectedElement, h->offset, "expected an EBML header, found " + element_name(h->id)));
    auto data = whole(*h, r, eof, step);
    if (!data) return step;
    header_ = Header{};
    header_.index = documents_;
    header_.range.offset = h->offset;
    Status s = parse_ebml_header(ByteReader(*data, h->data_offset()), header_);
    if (!s.ok()) return fail(s.take_error(), "EBML");
    ++documents_;
    header_emitted_ = false;
    pending_tags_.clear();
    last_fragment_ = -1;
    pos_ = h->end();
    state_ = State::kExpectSegment;
    return Step::kContinue;
  }
  if (h->id != ids::kSegment)
    return fail(make_error(Errc::kUnexpectedElement, h->offset, "expected a Segment, found " + element_name(h->id)));
  segment_end_ = h->end();
  header_.segment = {h->offset, h->unknown_size() ? kUnknownSize : h->header_size + h->size};
  header_.segment_data_offset = h->data_offset();
  pos_ = h->data_offset();
  state_ = State::kSegment;
  return Step::kContinue;
}

Demuxer::Step Demuxer::step_segment(ByteReader& r, bool eof) {
  // RFC 9559 §5.1: the top-level elements of a Segment.
  if (segment_end_ != kUnknownSize && pos_ >= segment_end_) {
    end_document();
    return Step::kContinue;
  }
  if (r.empty()) {
    if (!eof) {
      need_ = pos_ + 1;
      return Step::kWait;
    }
    if (segment_end_ != kUnknownSize)
      return fail(make_error(Errc::kTruncated, header_.segment.offset,
                             "Segment of " + bytes_text(segment_end_ - header_.segment_data_offset) +
                                 " ends at " + std::to_string(segment_end_) + ", input ends at " + std::to_string(pos_)));
    end_document();
    return Step::kContinue;
  }
  Step step = Step::kContinue;
  auto h = header_at(r, eof, step);
  if (!h) return step;
  const std::string name = element_name(h->id);
  if (h->id == ids::kEBML) {
    if (segment_end_ != kUnknownSize)
      return fail(make_error(Errc::kUnexpectedElement, h->offset, "EBML header inside a Segment of known size"));
    end_document();  // an unknown-size Segment ends where the next document starts
    return Step::kContinue;
  }
  if (h->id == ids::kSegment) return fail(make_error(Errc::kUnexpectedElement, h->offset, "Segment inside a Segment"));
  if (h->id == ids::kCluster) {
    if (!h->unknown_size() && h->end() > segment_end_)
      return fail(make_error(Errc::kElementOverflow, h->offset, "Cluster runs past its Segment"), name);
    if (!h->unknown_size() && h->size > limits_.max_cluster_size)
      return fail(make_error(Errc::kLimitExceeded, h->offset, "Cluster of " + bytes_text(h->size) + " exceeds the cluster size limit"), name);
    if (!header_emitted_) emit_header(h->offset);
    cluster_ = Fragment{};
    cluster_.index = fragment_count_;
    cluster_.header_index = header_.index;
    cluster_.range.offset = h->offset;
    cluster_.unknown_size = h->unknown_size();
    cluster_.tags_before = std::move(pending_tags_);
    pending_tags_.clear();
    cluster_end_ = h->unknown_size() ? segment_end_ : h->end();
    cluster_has_timestamp_ = false;
    pos_ = h->data_offset();
    state_ = State::kCluster;
    return Step::kContinue;
  }
  if (h->unknown_size())
    return fail(make_error(Errc::kUnknownSizeNotAllowed, h->offset, name + " has unknown size"), name);
  if (h->end() > segment_end_)
    return fail(make_error(Errc::kElementOverflow, h->offset, name + " runs past its Segment"), name);
  if (h->id == ids::kInfo || h->id == ids::kTracks || h->id == ids::kTags) {
    auto data = whole(*h, r, eof, step);
    if (!data) return step;
    ByteReader body(*data, h->data_offset());
    if (h->id == ids::kTags) {
      auto tags = parse_tags(body, {h->offset, h->header_size + h->size}, limits_);
      if (!tags.ok()) return fail(tags.take_error(), name);
      if (last_fragment_ >= 0) events_.emplace_back(TagsEvent{last_fragment_, std::move(tags).value()});
      else pending_tags_.push_back(std::move(tags).value());
    } else {
      if (header_emitted_)
        return fail(make_error(Errc::kUnexpectedElement, h->offset, name + " after the first Cluster"), name);
      Status s = h->id == ids::kInfo ? parse_info(body, header_) : parse_tracks(body, limits_, header_);
      if (!s.ok()) return fail(s.take_error(), name);
    }
    pos_ = h->end();
    return Step::kContinue;
  }
  // SeekHead, Void, CRC-32, Cues, Chapters, Attachments and unknown IDs are skipped.
  const ebml::ElementSpec* spec = ebml::find_element(h->id);
  if (spec && !spec->global && spec->parent_id != ids::kSegment)
    return fail(make_error(Errc::kUnexpectedElement, h->offset, name + " directly inside a Segment"), name);
  skipped_ = *h;
  pos_ = h->end();
  return Step::kContinue;
}

Demuxer::Step Demuxer::step_cluster(ByteReader& r, bool eof) {
  // RFC 9559 §5.1.3 Cluster. An unknown-size Cluster ends at the first element that is
  // not one of its children (RFC 8794 §6.2).
  if (cluster_end_ != kUnknownSize && pos_ >= cluster_end_) {
    finish_cluster(cluster_end_);
    return Step::kContinue;
  }
  if (r.empty()) {
    if (!eof) {
      need_ = pos_ + 1;
      return Step::kWait;
    }
    if (cluster_end_ != kUnknownSize)
      return fail(make_error(Errc::kTruncated, cluster_.range.offset,
                             "Cluster ends at " + std::to_string(cluster_end_) + ", input ends at " + std::to_string(pos_)));
    finish_cluster(pos_);
    return Step::kContinue;
  }
  Step step = Step::kContinue;
  auto h = header_at(r, eof, step);
  if (!h) return step;
  const std::string name = element_name(h->id);
  const ebml::ElementSpec* spec = ebml::find_element(h->id);
  const bool child = !spec || spec->global || spec->parent_id == ids::kCluster;
  if (!child) {
    const bool sibling_or_root = spec->depth == 0 || spec->parent_id == ids::kSegment;
    if (sibling_or_root && cluster_.unknown_size) {
      finish_cluster(h->offset);
      return Step::kContinue;
    }
    return fail(make_error(Errc::kUnexpectedElement, h->offset, name + " inside a Cluster"), name);
  }
  if (h->unknown_size())
    return fail(make_error(Errc::kUnknownSizeNotAllowed, h->offset, name + " has unknown size"), name);
  if (h->end() > cluster_end_)
    return fail(make_error(Errc::kElementOverflow, h->offset, name + " of " + bytes_text(h->size) + " runs past its Cluster"), name);
  if (h->end() - cluster_.range.offset > limits_.max_cluster_size)
    return fail(make_error(Errc::kLimitExceeded, h->offset, "Cluster exceeds the cluster size limit"), name);
  if (h->id == ids::kTimestamp || h->id == ids::kSimpleBlock || h->id == ids::kBlockGroup) {
    auto data = whole(*h, r, eof, step);
    if (!data) return step;
    step = cluster_child(*h, *data);
    if (step != Step::kContinue) return step;
  } else {
    skipped_ = *h;  // Position, PrevSize, Void, CRC-32, SilentTracks, EncryptedBlock, unknown
  }
  pos_ = h->end();
  return Step::kContinue;
}

Demuxer::Step Demuxer::cluster_child(const ElementHeader& h, ByteSpan data) {
  const std::string name = element_name(h.id);
  if (h.id == ids::kTimestamp) {
    auto ts = ebml::read_uint(data, h.data_offset());
    if (!ts.ok()) return fail(ts.take_error(), name);
    std::int64_t ns = 0;
    if (ts.value() > static_cast<std::uint64_t>(INT64_MAX) ||
        __builtin_mul_overflow(static_cast<std::int64_t>(ts.value()), static_cast<std::int64_t>(header_.timestamp_scale_ns), &ns))
      return fail(make_error(Errc::kInvalidValue, h.data_offset(), "Cluster Timestamp overflows 64-bit nanoseconds"), name);
    cluster_.timestamp_ticks = ts.value();
    cluster_.timestamp_ns = ns;
    cluster_has_timestamp_ = true;
    return Step::kContinue;
  }
  if (!cluster_has_timestamp_)
    return fail(make_error(Errc::kMissingElement, h.offset, name + " before the Cluster Timestamp"), name);
  const std::size_t before = cluster_.frames.size();
  Status s = Ok{};
  if (h.id == ids::kSimpleBlock) {
    s = parse_block(ByteReader(data, h.data_offset()), true, {}, cluster_.timestamp_ticks, header_, limits_, cluster_.frames);
  } else {  // BlockGroup, RFC 9559 §5.1.3.5
    BlockGroupInfo group;
    std::optional<ElementHeader> block;
    ByteSpan block_data;
    s = ebml::for_each_child(ByteReader(data, h.data_offset()), [&](const ElementHeader& c, ByteSpan v) -> Status {
      if (c.id == ids::kBlock) {
        if (block) return make_error(Errc::kUnexpectedElement, c.offset, "second Block in a BlockGroup");
        block = c;
        block_data = v;
      } else if (c.id == ids::kBlockDuration) {
        KVSMUX_TRY(group.duration_ticks, ebml::read_uint(v, c.data_offset()));
        group.has_duration = true;
      } else if (c.id == ids::kReferenceBlock) {
        group.has_reference = true;
      }
      return Ok{};
    });
    if (s.ok() && !block) s = make_error(Errc::kMissingElement, h.offset, "BlockGroup without a Block");
    if (s.ok())
      s = parse_block(ByteReader(block_data, block->data_offset()), false, group, cluster_.timestamp_ticks, header_, limits_, cluster_.frames);
    if (!s.ok() && block && s.error().path.empty() && s.error().offset >= block->offset)
      s = ebml::with_path(s.take_error(), "Block");
  }
  if (!s.ok()) return fail(s.take_error(), name);
  work_ += cluster_.frames.size() - before;
  return Step::kContinue;
}

}  // namespace kvsmux::mkv
