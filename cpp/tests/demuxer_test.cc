// SPDX-License-Identifier: Apache-2.0
#include <random>

#include "check.h"
#include "kvsmux/mkv/demuxer.h"
#include "kvsmux/mkv/stream_demuxer.h"
#include "mkv_builder.h"

using namespace kvsmux;
using namespace test_mkv;

namespace {

struct Parsed {
  std::vector<mkv::Header> headers;
  std::vector<mkv::Fragment> fragments;
  std::vector<mkv::TagsEvent> tags;
  std::optional<Error> error;
};


Parsed whole(const Bytes& in) {
  mkv::Demuxer d;
  d.parse(in, 0, true);
  Parsed p;
  for (auto& e : d.take_events()) {
    if (auto* h = std::get_if<mkv::Header>(&e)) p.headers.push_back(*h);
    else if (auto* f = std::get_if<mkv::Fragment>(&e)) p.fragments.push_back(*f);
    else p.tags.push_back(std::get<mkv::TagsEvent>(e));
  }
  p.error = d.error();
  return p;
}

Parsed chunked(const Bytes& in, std::size_t seed) {
  mkv::StreamDemuxer d;
  std::mt19937 rng(static_cast<unsigned>(seed));
  Parsed p;
  auto take = [&](std::vector<mkv::OwnedEvent> events) {
    for (auto& o : events) {
      if (auto* h = std::get_if<mkv::Header>(&o.event)) p.headers.push_back(*h);
      else if (auto* f = std::get_if<mkv::Fragment>(&o.event)) {
        for (const mkv::Frame& fr : f->frames) {  // every frame's bytes are in the event's block
          CHECK(o.block && fr.offset >= o.block->offset && fr.offset + fr.size <= o.block->offset + o.block->bytes.size());
        }
        p.fragments.push_back(*f);
      } else p.tags.push_back(std::get<mkv::TagsEvent>(o.event));
    }
  };
  std::size_t at = 0;
  while (at < in.size()) {
    std::size_t n = seed == 1 ? 1 : 1 + rng() % 23;
    n = std::min(n, in.size() - at);
    take(d.feed(ByteSpan(in).subspan(at, n)));
    at += n;
  }
  take(d.close());
  p.error = d.error();
  return p;
}

bool same_frames(const mkv::Fragment& a, const mkv::Fragment& b) {
  if (a.frames.size() != b.frames.size()) return false;
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    const auto &x = a.frames[i], &y = b.frames[i];
    if (x.offset != y.offset || x.size != y.size || x.pts_ns != y.pts_ns || x.key != y.key || x.track != y.track ||
        x.duration_ns != y.duration_ns)
      return false;
  }
  return a.range == b.range && a.timestamp_ns == b.timestamp_ns && a.truncated == b.truncated;
}

// EBML header, unknown-size Segment, Tracks (1, 2), then clusters as given.
Bytes live_stream(const Bytes& body) {
  return cat({ebml_header(), unknown_size(ids::kSegment, cat({tracks({1, 2}), body}))});
}

const Bytes kPayload = check::bytes({0xAA, 0xBB, 0xCC});

}  // namespace

TEST_CASE(unknown_size_clusters_end_at_next_top_level_element) {
  Bytes in = live_stream(cat({
      unknown_size(ids::kCluster, cat({uint_el(ids::kTimestamp, 1000), simple_block(1, 0, 0x80, kPayload),
                                       simple_block(2, 5, 0x80, kPayload), simple_block(1, 33, 0x00, kPayload)})),
      tags("meta", "v1"),
      unknown_size(ids::kCluster, cat({uint_el(ids::kTimestamp, 2000), simple_block(1, -1, 0x80, kPayload)})),
  }));
  Parsed p = whole(in);
  CHECK(!p.error);
  CHECK_EQ(p.headers.size(), 1u);
  CHECK_EQ(p.fragments.size(), 2u);
  CHECK_EQ(p.fragments[0].frames.size(), 3u);
  CHECK_EQ(p.fragments[0].frames[2].pts_ns, 1033'000'000);
  CHECK(p.fragments[0].frames[0].key && !p.fragments[0].frames[2].key);
  CHECK_EQ(p.fragments[1].frames[0].pts_ns, 1999'000'000);  // negative block timestamp
  CHECK_EQ(p.tags.size(), 1u);
  CHECK_EQ(p.tags[0].fragment_index, 0);
  CHECK_EQ(p.tags[0].tags.simple_tags[0].name, "meta");
  CHECK_EQ(*p.tags[0].tags.simple_tags[0].string, "v1");
  // Payload offsets point at the frame data.
  const mkv::Frame& f = p.fragments[0].frames[0];
  CHECK(std::to_integer<int>(in[f.offset]) == 0xAA && f.size == 3);
}

TEST_CASE(chunked_feeding_equals_whole_buffer) {
  Bytes body;
  for (int c = 0; c < 6; ++c) {
    Bytes cl = cat({uint_el(ids::kTimestamp, static_cast<std::uint64_t>(c) * 100)});
    for (int i = 0; i < 5; ++i) {
      Bytes b = simple_block(1 + (i % 2), static_cast<std::int16_t>(i * 10), i == 0 ? 0x80 : 0, kPayload);
      cl.insert(cl.end(), b.begin(), b.end());
    }
    Bytes el = c % 2 ? element(ids::kCluster, cl) : unknown_size(ids::kCluster, cl);
    body.insert(body.end(), el.begin(), el.end());
    Bytes t = tags("n", std::to_string(c));
    body.insert(body.end(), t.begin(), t.end());
  }
  Bytes in = cat({live_stream(body), live_stream(body)});  // two documents, GetMedia style
  Parsed a = whole(in);
  CHECK(!a.error);
  CHECK_EQ(a.headers.size(), 2u);
  CHECK_EQ(a.fragments.size(), 12u);
  for (std::size_t seed = 1; seed < 40; ++seed) {
    Parsed b = chunked(in, seed);
    CHECK(!b.error);
    CHECK_EQ(b.fragments.size(), a.fragments.size());
    CHECK_EQ(b.tags.size(), a.tags.size());
    for (std::size_t i = 0; i < std::min(a.fragments.size(), b.fragments.size()); ++i)
      CHECK(same_frames(a.fragments[i], b.fragments[i]));
  }
}

TEST_CASE(truncated_cluster_reports_complete_frames) {
  Bytes in = live_stream(element(ids::kCluster, cat({uint_el(ids::kTimestamp, 0), simple_block(1, 0, 0x80, kPayload),
                                                    simple_block(1, 1, 0x00, kPayload)})));
  in.resize(in.size() - 2);  // cut inside the second SimpleBlock
  Parsed p = whole(in);
  CHECK(p.error && p.error->code == Errc::kTruncated);
  CHECK_EQ(p.error->path, std::string("Segment/Cluster[0]/SimpleBlock"));
  CHECK_EQ(p.fragments.size(), 1u);
  CHECK(p.fragments[0].truncated);
  CHECK_EQ(p.fragments[0].frames.size(), 1u);
  Parsed c = chunked(in, 3);
  CHECK(c.error && c.error->code == Errc::kTruncated && c.error->offset == p.error->offset);
}

TEST_CASE(block_past_its_cluster_is_overflow) {
  Bytes cluster = cat({uint_el(ids::kTimestamp, 0), simple_block(1, 0, 0x80, kPayload)});
  Bytes el = element(ids::kCluster, cluster);
  el[el.size() - 4 - 4] = std::byte{0x20};  // grow the SimpleBlock's 8-byte size field
  Parsed p = whole(live_stream(el));
  CHECK(p.error && p.error->code == Errc::kElementOverflow);
}

TEST_CASE(block_for_undeclared_track) {
  Parsed p = whole(live_stream(element(ids::kCluster, cat({uint_el(ids::kTimestamp, 0), simple_block(9, 0, 0x80, kPayload)}))));
  CHECK(p.error && p.error->code == Errc::kUnknownTrack);
}

TEST_CASE(block_before_timestamp) {
  Parsed p = whole(live_stream(element(ids::kCluster, simple_block(1, 0, 0x80, kPayload))));
  CHECK(p.error && p.error->code == Errc::kMissingElement);
}

TEST_CASE(lacing) {
  // Xiph lacing, 3 frames of 2, 1 and 3 bytes (RFC 9559 §10.3.2).
  Bytes xiph = check::bytes({0x81, 0x00, 0x00, 0x82,  // track 1, ts 0, keyframe + Xiph lacing
                             0x02,                    // 3 frames
                             0x02, 0x01,              // sizes 2 and 1; the last takes the rest
                             1, 1, 2, 3, 3, 3});
  // EBML lacing, 3 frames: first size 2 (VINT 0x82), difference +1 (0xC0 = 0x40 bias... see below).
  Bytes ebml_laced = check::bytes({0x81, 0x00, 0x0A, 0x86, 0x02,
                                   0x82,      // first size 2
                                   0xC0,      // signed VINT 0x40 - 63 = +1 -> second size 3
                                   1, 1, 2, 2, 2, 3});
  // Fixed lacing: 4 frames of 2 bytes.
  Bytes fixed = check::bytes({0x81, 0x00, 0x14, 0x84, 0x03, 9, 9, 8, 8, 7, 7, 6, 6});
  Bytes bad_fixed = check::bytes({0x81, 0x00, 0x14, 0x84, 0x03, 9, 9, 8, 8, 7, 7, 6});  // 7 bytes / 4
  Bytes cluster = cat({uint_el(ids::kTimestamp, 0), element(ids::kSimpleBlock, xiph), element(ids::kSimpleBlock, ebml_laced),
                       element(ids::kSimpleBlock, fixed)});
  Parsed p = whole(live_stream(element(ids::kCluster, cluster)));
  CHECK(!p.error);
  const auto& f = p.fragments.at(0).frames;
  CHECK_EQ(f.size(), 10u);
  CHECK(f[0].size == 2 && f[1].size == 1 && f[2].size == 3);
  CHECK(f[3].size == 2 && f[4].size == 3 && f[5].size == 1);
  CHECK(f[6].size == 2 && f[9].size == 2 && f[9].lace == 3);
  Parsed bad = whole(live_stream(element(ids::kCluster, cat({uint_el(ids::kTimestamp, 0), element(ids::kSimpleBlock, bad_fixed)}))));
  CHECK(bad.error && bad.error->code == Errc::kBadLacing);
}

TEST_CASE(unknown_size_only_where_allowed) {
  Bytes in = live_stream(unknown_size(ids::kTags, Bytes{}));
  Parsed p = whole(in);
  CHECK(p.error && p.error->code == Errc::kUnknownSizeNotAllowed);
}

TEST_CASE(not_matroska) {
  Parsed p = whole(check::bytes({0x1F, 0x43, 0xB6, 0x75, 0x80}));  // starts with a Cluster
  CHECK(p.error && p.error->code == Errc::kUnexpectedElement && p.error->offset == 0);
  Parsed empty = whole({});
  CHECK(empty.error && empty.error->code == Errc::kTruncated);
  Bytes webm = cat({element(ids::kEBML, str_el(ids::kDocType, "mp4")), unknown_size(ids::kSegment, {})});
  Parsed other = whole(webm);
  CHECK(other.error && other.error->code == Errc::kUnsupportedDocument);
}

TEST_CASE(element_size_limit) {
  mkv::Limits limits;
  limits.max_element_size = 4;
  mkv::Demuxer d(limits);
  Bytes in = live_stream(element(ids::kCluster, cat({uint_el(ids::kTimestamp, 0), simple_block(1, 0, 0x80, kPayload)})));
  d.parse(in, 0, true);
  CHECK(d.error() && d.error()->code == Errc::kLimitExceeded);
}

TEST_CASE(skipped_elements_are_not_buffered) {
  // A 1 MB Void between clusters: the stream demuxer drops it instead of holding it.
  // (Before the first cluster it would be part of the header, which is kept whole.)
  Bytes big(1 << 20, std::byte{0});
  Bytes cluster = element(ids::kCluster, cat({uint_el(ids::kTimestamp, 0), simple_block(1, 0, 0x80, kPayload)}));
  Bytes in = live_stream(cat({cluster, element(ids::kVoid, big), cluster}));
  mkv::StreamDemuxer d;
  std::size_t max_buffered = 0, fragments = 0;
  for (std::size_t at = 0; at < in.size(); at += 4096) {
    auto ev = d.feed(ByteSpan(in).subspan(at, std::min<std::size_t>(4096, in.size() - at)));
    max_buffered = std::max(max_buffered, d.buffered());
    fragments += ev.size();
  }
  fragments += d.close().size();
  CHECK(!d.error());
  CHECK(max_buffered < 16384);
  CHECK_EQ(fragments, 3u);  // header + 2 fragments
}

TEST_MAIN()
