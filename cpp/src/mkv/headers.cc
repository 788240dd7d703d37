// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/mkv/headers.h"

#include <string>

#include "kvsmux/ebml/children.h"
#include "kvsmux/ebml/elements.h"

namespace kvsmux::mkv {
namespace ids = ebml::id;
using ebml::ElementHeader;
using ebml::for_each_child;
using ebml::with_path;

namespace {

std::string to_string(ByteSpan data) {
  std::string s(as_string_view(data));
  // RFC 8794 §7.4: strings may be padded with trailing zero bytes.
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

Status parse_video(ByteReader data, Track& t) {
  return for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    if (h.id == ids::kPixelWidth) { KVSMUX_TRY(t.pixel_width, ebml::read_uint(v, h.data_offset())); }
    else if (h.id == ids::kPixelHeight) { KVSMUX_TRY(t.pixel_height, ebml::read_uint(v, h.data_offset())); }
    return Ok{};
  });
}

Status parse_audio(ByteReader data, Track& t) {
  return for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    if (h.id == ids::kSamplingFrequency) { KVSMUX_TRY(t.sampling_frequency, ebml::read_float(v, h.data_offset())); }
    else if (h.id == ids::kChannels) { KVSMUX_TRY(t.channels, ebml::read_uint(v, h.data_offset())); }
    else if (h.id == ids::kBitDepth) { KVSMUX_TRY(t.bit_depth, ebml::read_uint(v, h.data_offset())); }
    return Ok{};
  });
}

Status parse_track_entry(ByteReader data, Track& t) {
  // RFC 9559 §5.1.4.1 TrackEntry. Audio SamplingFrequency defaults to 8000 Hz, Channels to 1.
  const std::uint64_t entry_offset = data.offset();
  bool audio_seen = false;
  Status s = for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    const std::uint64_t at = h.data_offset();
    switch (h.id) {
      case ids::kTrackNumber: { KVSMUX_TRY(t.number, ebml::read_uint(v, at)); break; }
      case ids::kTrackUID: { KVSMUX_TRY(t.uid, ebml::read_uint(v, at)); break; }
      case ids::kTrackType: {
        KVSMUX_TRY(const std::uint64_t type, ebml::read_uint(v, at));
        if (type == 0 || type > 254) return with_path(make_error(Errc::kInvalidValue, at, "TrackType out of range"), "TrackType");
        t.type = static_cast<std::uint8_t>(type);
        break;
      }
      case ids::kCodecID: t.codec_id = to_string(v); break;
      case ids::kCodecPrivate:
        t.codec_private = {at, v.size()};
        t.codec_private_bytes.assign(v.begin(), v.end());
        break;
      case ids::kDefaultDuration: { KVSMUX_TRY(t.default_duration_ns, ebml::read_uint(v, at)); break; }
      case ids::kCodecDelay: { KVSMUX_TRY(t.codec_delay_ns, ebml::read_uint(v, at)); break; }
      case ids::kSeekPreRoll: { KVSMUX_TRY(t.seek_pre_roll_ns, ebml::read_uint(v, at)); break; }
      case ids::kName: t.name = to_string(v); break;
      case ids::kLanguage: t.language = to_string(v); break;
      case ids::kVideo: {
        Status vs = parse_video(ByteReader(v, at), t);
        if (!vs.ok()) return with_path(vs.take_error(), "Video");
        break;
      }
      case ids::kAudio: {
        audio_seen = true;
        t.sampling_frequency = 8000.0;
        t.channels = 1;
        Status as = parse_audio(ByteReader(v, at), t);
        if (!as.ok()) return with_path(as.take_error(), "Audio");
        break;
      }
      default: break;
    }
    return Ok{};
  });
  if (!s.ok()) return s.take_error();
  (void)audio_seen;
  if (t.number == 0) return make_error(Errc::kMissingElement, entry_offset, "TrackEntry without a TrackNumber");
  return Ok{};
}

}  // namespace

Status parse_ebml_header(ByteReader data, Header& out) {
  // RFC 8794 §11.2.1-§11.2.7. DocType defaults to "matroska", DocTypeReadVersion to 1.
  const std::uint64_t at = data.offset();
  std::uint64_t read_version = 1, max_id_length = 4, max_size_length = 8;
  out.doc_type = "matroska";
  out.doc_type_version = 1;
  out.doc_type_read_version = 1;
  KVSMUX_CHECK(for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    const std::uint64_t o = h.data_offset();
    switch (h.id) {
      case ids::kEBMLReadVersion: { KVSMUX_TRY(read_version, ebml::read_uint(v, o)); break; }
      case ids::kEBMLMaxIDLength: { KVSMUX_TRY(max_id_length, ebml::read_uint(v, o)); break; }
      case ids::kEBMLMaxSizeLength: { KVSMUX_TRY(max_size_length, ebml::read_uint(v, o)); break; }
      case ids::kDocType: out.doc_type = to_string(v); break;
      case ids::kDocTypeVersion: { KVSMUX_TRY(out.doc_type_version, ebml::read_uint(v, o)); break; }
      case ids::kDocTypeReadVersion: { KVSMUX_TRY(out.doc_type_read_version, ebml::read_uint(v, o)); break; }
      default: break;
    }
    return Ok{};
  }));
  if (read_version != 1) return make_error(Errc::kUnsupportedDocument, at, "EBMLReadVersion " + std::to_string(read_version));
  if (out.doc_type != "matroska" && out.doc_type != "webm")
    return make_error(Errc::kUnsupportedDocument, at, "DocType '" + out.doc_type + "'");
  if (max_id_length > static_cast<std::uint64_t>(ebml::kMaxIdLength) || max_size_length > static_cast<std::uint64_t>(ebml::kMaxSizeLength) ||
      max_size_length == 0)
    return make_error(Errc::kUnsupportedDocument, at, "EBMLMaxIDLength/EBMLMaxSizeLength out of range");
  if (out.doc_type_read_version > 4)
    return make_error(Errc::kUnsupportedDocument, at, "DocTypeReadVersion " + std::to_string(out.doc_type_read_version));
  return Ok{};
}

Status parse_info(ByteReader data, Header& out) {
  // RFC 9559 §5.1.2.
  return for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    const std::uint64_t o = h.data_offset();
    switch (h.id) {
      case ids::kTimestampScale: {
        KVSMUX_TRY(out.timestamp_scale_ns, ebml::read_uint(v, o));
        if (out.timestamp_scale_ns == 0)
          return with_path(make_error(Errc::kInvalidValue, o, "TimestampScale 0"), "TimestampScale");
        break;
      }
      case ids::kDuration: { KVSMUX_TRY(out.duration, ebml::read_float(v, o)); break; }
      case ids::kMuxingApp: out.muxing_app = to_string(v); break;
      case ids::kWritingApp: out.writing_app = to_string(v); break;
      case ids::kTitle: out.title = to_string(v); break;
      default: break;
    }
    return Ok{};
  });
}

Status parse_tracks(ByteReader data, const Limits& limits, Header& out) {
  // RFC 9559 §5.1.4. Track numbers are unique within a Segment.
  out.tracks.clear();
  return for_each_child(data, [&](const ElementHeader& h, ByteSpan v) -> Status {
    if (h.id != ids::kTrackEntry) return Ok{};
    const std::string where = "TrackEntry[" + std::to_string(out.tracks.size()) + "]";
    if (out.tracks.size() >= limits.max_tracks)
      return with_path(make_error(Errc::kLimitExceeded, h.offset, "more than " + std::to_string(limits.max_tracks) + " tracks"), where);
    Track t;
    Status s = parse_track_entry(ByteReader(v, h.data_offset()), t);
    if (!s.ok()) return with_path(s.take_error(), where);
    if (out.find_track(t.number))
      return with_path(make_error(Errc::kInvalidValue, h.offset, "duplicate TrackNumber " + std::to_string(t.number)), where);
    summarise_codec(t);
    out.tracks.push_back(std::move(t));
    return Ok{};
  });
}

}  // namespace kvsmux::mkv
