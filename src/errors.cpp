// SPDX-License-Identifier: Apache-2.0
// Core errors become kvsmux.errors exceptions, through kErrorTable only.
#include <string>

#include "bindings.h"

namespace kvsmux::bindings {

py::object to_python_error(const Error& error) {
  const ErrorInfo& info = error_info(error.code);
  py::object cls = py::module_::import("kvsmux.errors").attr("BY_NAME")[py::str(std::string(info.py_name))];
  return cls(text(error.detail.empty() ? std::string(info.summary) : error.detail), py::arg("offset") = error.offset,
             py::arg("path") = text(error.path));
}

void raise_error(const Error& error) {
  py::object exc = to_python_error(error);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

void register_errors(py::module_& m) {
  // The table itself, so Python can check that kvsmux.errors agrees with it.
  py::list table;
  for (const ErrorInfo& info : kErrorTable)
    table.append(py::make_tuple(static_cast<int>(info.code), std::string(info.name), std::string(info.py_name),
                                std::string(info.summary)));
  m.attr("ERROR_TABLE") = table;
}

}  // namespace kvsmux::bindings
