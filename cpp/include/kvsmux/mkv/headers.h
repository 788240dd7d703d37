// SPDX-License-Identifier: Apache-2.0
// The EBML header, Segment Info and Tracks (RFC 8794 §11.2; RFC 9559 §5.1.2, §5.1.4).
#pragma once

#include "kvsmux/ebml/vint.h"
#include "kvsmux/mkv/types.h"

namespace kvsmux::mkv {

/// RFC 8794 §11.2: checks the EBML header can be read as Matroska or WebM and fills
/// doc_type, doc_type_version and doc_type_read_version of `out`.
Status parse_ebml_header(ByteReader data, Header& out);

/// RFC 9559 §5.1.2 Info: TimestampScale, Duration, MuxingApp, WritingApp, Title.
Status parse_info(ByteReader data, Header& out);

/// RFC 9559 §5.1.4 Tracks: every TrackEntry, with its codec private summarised.
Status parse_tracks(ByteReader data, const Limits& limits, Header& out);

/// Fills `track.codec` from the codec private, or sets `track.codec_error`.
void summarise_codec(Track& track);

}  // namespace kvsmux::mkv
