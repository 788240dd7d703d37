// SPDX-License-Identifier: Apache-2.0
#include "check.h"
#include "kvsmux/mkv/demuxer.h"
#include "kvsmux/mkv/getmedia_chunk.h"
#include "mkv_builder.h"

using namespace kvsmux;
using namespace test_mkv;

TEST_CASE(timestamps_have_three_decimals) {
  CHECK_EQ(mkv::format_kvs_timestamp(1511852109126), std::string("1511852109.126"));
  CHECK_EQ(mkv::format_kvs_timestamp(5000), std::string("5.000"));
  CHECK_EQ(mkv::format_kvs_timestamp(7), std::string("0.007"));
  CHECK_EQ(mkv::format_kvs_timestamp(-1500), std::string("-1.500"));
}

TEST_CASE(kvs_tags_use_four_byte_sizes) {
  ByteWriter out;
  const std::pair<std::string_view, std::string> tags[] = {{"A", "b"}};
  mkv::write_kvs_tags(out, tags);
  auto expected = check::bytes({0x12, 0x54, 0xC3, 0x67, 0x10, 0x00, 0x00, 0x1A,  // Tags, 26 bytes
                                0x73, 0x73, 0x10, 0x00, 0x00, 0x14,              // Tag, 20 bytes
                                0x67, 0xC8, 0x10, 0x00, 0x00, 0x0E,              // SimpleTag, 14 bytes
                                0x45, 0xA3, 0x10, 0x00, 0x00, 0x01, 'A',         // TagName "A"
                                0x44, 0x87, 0x10, 0x00, 0x00, 0x01, 'b'});       // TagString "b"
  CHECK(std::vector<std::byte>(out.view().begin(), out.view().end()) == expected);
}

TEST_CASE(chunk_makes_segment_unknown_size_and_reads_back) {
  Bytes header = cat({ebml_header(), element(ids::kSegment, tracks({1}))});  // known-size Segment
  header.resize(header.size());
  Bytes cluster = element(ids::kCluster, cat({uint_el(ids::kTimestamp, 0), simple_block(1, 0, 0x80, check::bytes({1, 2}))}));
  mkv::ChunkTags tags{"42", 1000, 2000, 15, std::string("42")};
  ScatterOutput out;
  CHECK(mkv::write_getmedia_chunk(header, cluster, {}, tags, out).ok());
  const ByteBuffer chunk = out.flatten();
  mkv::Demuxer d;
  d.parse(chunk, 0, true);
  CHECK(!d.error());
  int headers = 0, fragments = 0, tags_after = 0;
  for (auto& e : d.take_events()) {
    if (auto* h = std::get_if<mkv::Header>(&e)) {
      ++headers;
      CHECK(h->segment.size == ebml::kUnknownSize);
    } else if (auto* f = std::get_if<mkv::Fragment>(&e)) {
      ++fragments;
      CHECK_EQ(f->tags_before.at(0).simple_tags.at(0).name, std::string("AWS_KINESISVIDEO_FRAGMENT_NUMBER"));
      CHECK_EQ(*f->tags_before.at(0).simple_tags.at(1).string, std::string("1.000"));
    } else {
      ++tags_after;
    }
  }
  CHECK(headers == 1 && fragments == 1 && tags_after == 1);
  ScatterOutput bad;
  CHECK(!mkv::write_getmedia_chunk(cluster, cluster, {}, tags, bad).ok());
}

TEST_MAIN()
