// SPDX-License-Identifier: Apache-2.0
// kvsmux._core.package: whole-input repackaging.
#include <optional>

#include <pybind11/stl.h>

#include "bindings.h"
#include "kvsmux/media/package.h"

namespace kvsmux::bindings {
namespace {

std::optional<media::Container> container_from(const std::string& name) {
  if (name == "fmp4") return media::Container::kFmp4;
  if (name == "ts") return media::Container::kTs;
  if (name == "mp4") return media::Container::kMp4;
  return std::nullopt;
}

py::tuple package(const py::buffer& input, const std::string& container, std::optional<std::uint64_t> track,
                  std::uint32_t first_sequence_number, const py::object& limits) {
  auto kind = container_from(container);
  if (!kind) throw py::value_error("container must be 'fmp4', 'ts' or 'mp4'");
  media::PackageOptions options;
  options.container = *kind;
  options.track = track;
  options.first_sequence_number = first_sequence_number;
  options.limits = limits_from(limits);
  PinnedInput in = pin_input(input);
  std::optional<Result<media::PackageResult>> result;
  if (in.immutable()) {
    py::gil_scoped_release release;
    result.emplace(media::package(in.span(), options));
  } else {
    result.emplace(media::package(in.span(), options));
  }
  if (!result->ok()) raise_error(result->error());
  media::PackageResult& r = result->value();
  py::list segments;
  for (media::PackagedSegment& s : r.segments) {
    py::dict d;
    d["output"] = make_output(std::move(s.output), {input});
    d["fragment_index"] = s.fragment_index;
    d["start_ns"] = s.start_ns;
    d["duration_ns"] = s.duration_ns;
    segments.append(d);
  }
  py::list codecs;
  for (const std::string& c : r.codecs) codecs.append(text(c));
  return py::make_tuple(segments, py::cast(r.tracks), codecs);
}

}  // namespace

void register_package(py::module_& m) {
  m.def("package", &package, py::arg("data"), py::arg("container"), py::arg("track") = py::none(),
        py::arg("first_sequence_number") = 1, py::arg("limits") = py::none(),
        "Repackages a whole Matroska input: ([{'output', 'fragment_index', 'start_ns', 'duration_ns'}], tracks, codecs).");
}

}  // namespace kvsmux::bindings
