// SPDX-License-Identifier: Apache-2.0
// kvsmux._core: registration only (STYLE §1).
#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "kvsmux media core (C++): Matroska demuxing; see kvsmux.media for the Python API.";
  kvsmux::bindings::register_errors(m);
  kvsmux::bindings::register_buffers(m);
  kvsmux::bindings::register_demuxer(m);
  kvsmux::bindings::register_output(m);
  kvsmux::bindings::register_package(m);
  kvsmux::bindings::register_chunk(m);
}
