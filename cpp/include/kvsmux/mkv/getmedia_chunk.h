// SPDX-License-Identifier: Apache-2.0
// The chunk KVS GetMedia / GetMediaForFragmentList returns for one stored fragment
// (KVS-WIRE-FACTS §5.2): the producer's header, KVS Tags, the cluster verbatim, KVS Tags.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "kvsmux/scatter.h"

namespace kvsmux::mkv {

struct ChunkTags {
  std::string fragment_number;                   // decimal string
  std::int64_t server_timestamp_ms = 0;          // written as epoch seconds with 3 decimals
  std::int64_t producer_timestamp_ms = 0;
  std::optional<std::int64_t> millis_behind_now;  // GetMedia only: the Tags after the cluster
  std::optional<std::string> continuation_token;
};

/// "1511852109.126": epoch milliseconds as seconds with exactly three decimals.
std::string format_kvs_timestamp(std::int64_t ms);

/// A Tags element as KVS writes it: one Tag (no Targets) holding one SimpleTag (TagName,
/// TagString) per pair, every size field 4 bytes long (10 00 00 xx).
void write_kvs_tags(ByteWriter& out, std::span<const std::pair<std::string_view, std::string>> tags);

/// Appends one chunk to `out`: `header` (EBML header, Segment start, Info, Tracks and the
/// producer's Tags before its first cluster, verbatim but for the Segment size, which
/// becomes unknown at the same width), the fragment-number/timestamp Tags, `cluster`
/// verbatim, what the producer sent after it (`tags_after`, verbatim: metadata Tags, or
/// the Cues ffmpeg writes after its last cluster), and, when
/// `millis_behind_now` or `continuation_token` is set, the closing Tags. The header and
/// cluster bytes are referenced, not copied. A header that does not start with an EBML
/// header and a Segment is kUnexpectedElement.
Status write_getmedia_chunk(ByteSpan header, ByteSpan cluster, std::span<const ByteSpan> tags_after,
                            const ChunkTags& tags, ScatterOutput& out);

/// The Tags KVS sends in a running GetMedia when a fragment fails (KVS-WIRE-FACTS §5.2):
/// FRAGMENT_NUMBER, ERROR_ID and ERROR_CODE, and no SERVER_TIMESTAMP.
void write_getmedia_error_tags(ByteWriter& out, std::string_view fragment_number, int error_id, std::string_view error_code);

}  // namespace kvsmux::mkv
