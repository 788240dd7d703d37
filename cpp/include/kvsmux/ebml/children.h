// SPDX-License-Identifier: Apache-2.0
// Walking the children of a master element whose data is complete (RFC 8794 §6, §10).
#pragma once

#include <string>
#include <utility>

#include "kvsmux/ebml/elements.h"
#include "kvsmux/ebml/vint.h"

namespace kvsmux::ebml {

/// Prepends `outer` to an error's element path ("Tracks" + "TrackEntry[0]/CodecID").
inline Error with_path(Error e, std::string_view outer) {
  e.path = e.path.empty() ? std::string(outer) : std::string(outer) + "/" + e.path;
  return e;
}

/// The schema name of an element ID, or its hex value.
inline std::string element_name(std::uint32_t element_id) {
  if (const ElementSpec* s = find_element(element_id)) return std::string(s->name);
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", element_id);
  return buf;
}

/// Calls `fn(header, data)` for every child in `parent`. A child that runs past its
/// parent is kElementOverflow; a child of unknown size is kUnknownSizeNotAllowed (only
/// Segment and Cluster may have one).
template <typename Fn>
Status for_each_child(ByteReader parent, Fn&& fn) {
  while (!parent.empty()) {
    const std::uint64_t at = parent.offset();
    auto header = read_element_header(parent);
    if (!header.ok()) {
      Error e = header.take_error();
      if (e.code == Errc::kTruncated) e = make_error(Errc::kElementOverflow, at, "element header runs past its parent");
      return e;
    }
    const ElementHeader& h = header.value();
    if (h.unknown_size())
      return make_error(Errc::kUnknownSizeNotAllowed, at, element_name(h.id) + " has unknown size");
    if (h.size > parent.remaining())
      return with_path(make_error(Errc::kElementOverflow, at,
                                  element_name(h.id) + " of " + std::to_string(h.size) +
                                      " bytes runs past its parent"),
                       element_name(h.id));
    ByteSpan data = parent.take(h.size).value();
    Status s = fn(h, data);
    if (!s.ok()) return s.take_error();
  }
  return Ok{};
}

}  // namespace kvsmux::ebml
