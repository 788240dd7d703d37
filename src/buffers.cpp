// SPDX-License-Identifier: Apache-2.0
// Buffers across the boundary: inputs pinned through the buffer protocol, outputs exported
// read-only with their C++ owner kept alive by the exporting object (STYLE §8).
#include <stdexcept>

#include "bindings.h"

namespace kvsmux::bindings {
namespace {

// A frozen input block, exported through the buffer protocol.
struct BlockExport {
  std::shared_ptr<const mkv::Block> block;
};

}  // namespace

PinnedInput pin_input(const py::buffer& buffer) {
  py::buffer_info info = buffer.request();
  if (info.ndim > 1 && !(info.strides.empty() || info.strides.back() == info.itemsize))
    throw py::value_error("input must be a contiguous bytes-like object");
  return PinnedInput{std::move(info)};
}

py::object block_object(const std::shared_ptr<const mkv::Block>& block) {
  return py::cast(BlockExport{block});
}

void register_buffers(py::module_& m) {
  py::class_<BlockExport>(m, "Block", py::buffer_protocol(),
                          "Immutable input bytes owned by the demuxer; frames are views into it.")
      .def_buffer([](const BlockExport& b) {
        return py::buffer_info(const_cast<std::byte*>(b.block->bytes.data()), 1,
                               py::format_descriptor<std::uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.block->bytes.size())}, {1}, /*readonly=*/true);
      })
      .def_property_readonly("offset", [](const BlockExport& b) { return b.block->offset; },
                             "Absolute input offset of the first byte.")
      .def("__len__", [](const BlockExport& b) { return b.block->bytes.size(); });
}

}  // namespace kvsmux::bindings
