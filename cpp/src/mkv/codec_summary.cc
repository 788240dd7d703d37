// SPDX-License-Identifier: Apache-2.0
// What a track's codec private says, for probe and for the writers' codec strings.
#include <string>

#include "kvsmux/codec/aac.h"
#include "kvsmux/codec/h264.h"
#include "kvsmux/codec/h265.h"
#include "kvsmux/mkv/headers.h"

namespace kvsmux::mkv {
namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

void summarise_codec(Track& t) {
  // RFC 9559 codec mappings: V_MPEG4/ISO/AVC (avcC), V_MPEGH/ISO/HEVC (hvcC), A_AAC* (ASC).
  const bool avc = t.codec_id == "V_MPEG4/ISO/AVC";
  const bool hevc = t.codec_id == "V_MPEGH/ISO/HEVC";
  const bool aac = starts_with(t.codec_id, "A_AAC");
  if (!avc && !hevc && !aac) return;
  const ByteSpan cp(t.codec_private_bytes);
  if (cp.empty()) {
    t.codec_error = make_error(Errc::kMissingCodecPrivate, t.codec_private.offset, "no CodecPrivate for " + t.codec_id);
    return;
  }
  CodecSummary& s = t.codec;
  if (avc) {
    auto c = codec::parse_avc_decoder_configuration(cp, t.codec_private.offset);
    if (!c.ok()) { t.codec_error = c.take_error(); return; }
    s = {true, codec::avc_codec_string(*c), c->profile_idc, c->level_idc, c->width, c->height, 0, 0, c->nal_length_size};
  } else if (hevc) {
    auto c = codec::parse_hevc_decoder_configuration(cp, t.codec_private.offset);
    if (!c.ok()) { t.codec_error = c.take_error(); return; }
    s = {true, codec::hevc_codec_string(*c), c->general_profile_idc, c->general_level_idc, c->width, c->height, 0, 0,
         c->nal_length_size};
  } else {
    auto c = codec::parse_audio_specific_config(cp, t.codec_private.offset);
    if (!c.ok()) { t.codec_error = c.take_error(); return; }
    s = {true, codec::aac_codec_string(*c), c->audio_object_type, 0, 0, 0, c->sample_rate, c->channels, 0};
  }
}

}  // namespace kvsmux::mkv
