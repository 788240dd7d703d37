// SPDX-License-Identifier: Apache-2.0
// kvsmux._core.getmedia_chunk: one GetMedia chunk, referencing the stored bytes.
#include <pybind11/stl.h>

#include <optional>

#include "bindings.h"
#include "kvsmux/mkv/getmedia_chunk.h"

namespace kvsmux::bindings {
namespace {

py::object getmedia_chunk(const py::buffer& header, const py::buffer& cluster, const std::vector<py::buffer>& tags_after,
                          const std::string& fragment_number, std::int64_t server_timestamp_ms,
                          std::int64_t producer_timestamp_ms, std::optional<std::int64_t> millis_behind_now,
                          std::optional<std::string> continuation_token) {
  PinnedInput h = pin_input(header), c = pin_input(cluster);
  std::vector<PinnedInput> pinned;
  std::vector<ByteSpan> after;
  std::vector<py::object> owners{header, cluster};
  for (const py::buffer& t : tags_after) {
    pinned.push_back(pin_input(t));
    after.push_back(pinned.back().span());
    owners.push_back(t);
  }
  mkv::ChunkTags tags{fragment_number, server_timestamp_ms, producer_timestamp_ms, millis_behind_now, continuation_token};
  ScatterOutput out;
  Status s = mkv::write_getmedia_chunk(h.span(), c.span(), after, tags, out);
  if (!s.ok()) raise_error(s.error());
  return make_output(std::move(out), std::move(owners));
}

}  // namespace

void register_chunk(py::module_& m) {
  m.def("getmedia_chunk", &getmedia_chunk, py::arg("header"), py::arg("cluster"), py::arg("tags_after"),
        py::arg("fragment_number"), py::arg("server_timestamp_ms"), py::arg("producer_timestamp_ms"),
        py::arg("millis_behind_now") = py::none(), py::arg("continuation_token") = py::none());
  m.def("format_kvs_timestamp", &mkv::format_kvs_timestamp);
}

}  // namespace kvsmux::bindings
