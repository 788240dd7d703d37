// SPDX-License-Identifier: Apache-2.0
// Shared declarations of the kvsmux._core binding files. No media logic lives here.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>

#include "kvsmux/mkv/stream_demuxer.h"
#include "kvsmux/scatter.h"
#include "kvsmux/status.h"

namespace kvsmux::bindings {
namespace py = pybind11;

// errors.cpp: one translator, driven by the core's error table.
py::object to_python_error(const Error& error);
[[noreturn]] void raise_error(const Error& error);
void register_errors(py::module_& m);

// buffers.cpp: read-only exports that keep their owner alive.
struct PinnedInput {  // a caller's buffer, pinned for the call
  py::buffer_info info;
  ByteSpan span() const { return as_bytes(info.ptr, static_cast<std::size_t>(info.size * info.itemsize)); }
  bool immutable() const { return info.readonly; }
};
PinnedInput pin_input(const py::buffer& buffer);
void register_buffers(py::module_& m);
py::object block_object(const std::shared_ptr<const mkv::Block>& block);

// Text from the input as str: Matroska strings are meant to be UTF-8 (or ASCII), but the
// input may say anything, so invalid bytes become U+FFFD instead of an exception.
inline py::str text(std::string_view s) {
  return py::reinterpret_steal<py::str>(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}

// convert.cpp: core results as Python values.
py::dtype frame_dtype();
py::object to_python(mkv::Header header);
py::object to_python(mkv::Fragment fragment);
py::object to_python(const mkv::TagsElement& tags);
py::object to_python(mkv::TagsEvent event);
mkv::Limits limits_from(const py::object& limits);
void register_demuxer(py::module_& m);

// output.cpp: writer outputs (scatter lists) as read-only buffers with parts().
py::object make_output(ScatterOutput out, std::vector<py::object> inputs);
void register_output(py::module_& m);

// package.cpp and chunk.cpp: the writers.
void register_package(py::module_& m);
void register_chunk(py::module_& m);

}  // namespace kvsmux::bindings
