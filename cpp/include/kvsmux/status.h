// SPDX-License-Identifier: Apache-2.0
// Errors of the media core: one code table, shared by the C++ core, the bindings and Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kvsmux {

/// Stable error codes. Append only: the numbering and the names are part of the contract
/// with Python (`kvsmux.MediaError.code`) and with `kvsmux probe --json`.
enum class Errc : std::uint8_t {
  kTruncated,            // input ended inside an element
  kElementOverflow,      // a child or a frame runs past the end of its parent
  kLimitExceeded,        // a named limit (size, depth, count, work) was exceeded
  kInvalidVint,          // a malformed EBML variable-size integer (ID or size)
  kUnexpectedElement,    // an element where the format does not allow it
  kUnknownSizeNotAllowed,// unknown (all-ones) size on an element that must have a size
  kInvalidValue,         // an element value out of range or of the wrong length
  kMissingElement,       // a mandatory element is absent (e.g. Cluster Timestamp)
  kBadLacing,            // lace sizes that do not add up
  kUnknownTrack,         // a block for a track number the Tracks element does not declare
  kUnsupportedDocument,  // not a Matroska/WebM EBML document, or a version we cannot read
  kInvalidCodecPrivate,  // codec private data that is not a valid AVCC/HVCC/AudioSpecificConfig
  kUnsupportedCodec,     // a codec id the requested operation cannot handle
  kMissingCodecPrivate,  // codec private data needed but absent
  kInvalidFrame,         // frame data that cannot be parsed for its codec
  kCount
};

struct ErrorInfo {
  Errc code;
  std::string_view name;     // stable snake_case code, used in JSON
  std::string_view py_name;  // the Python exception class (kvsmux.errors)
  std::string_view summary;
};

inline constexpr ErrorInfo kErrorTable[] = {
    {Errc::kTruncated, "truncated", "TruncatedInputError", "input ended inside an element"},
    {Errc::kElementOverflow, "element_overflow", "ElementOverflowError", "child exceeds its parent's size"},
    {Errc::kLimitExceeded, "limit_exceeded", "LimitExceededError", "a configured limit was exceeded"},
    {Errc::kInvalidVint, "invalid_vint", "InvalidVintError", "malformed EBML variable-size integer"},
    {Errc::kUnexpectedElement, "unexpected_element", "UnexpectedElementError", "element not allowed here"},
    {Errc::kUnknownSizeNotAllowed, "unknown_size_not_allowed", "UnknownSizeNotAllowedError",
     "unknown size on an element that needs a size"},
    {Errc::kInvalidValue, "invalid_value", "InvalidValueError", "element value out of range"},
    {Errc::kMissingElement, "missing_element", "MissingElementError", "mandatory element absent"},
    {Errc::kBadLacing, "bad_lacing", "LacingError", "lace sizes do not add up"},
    {Errc::kUnknownTrack, "unknown_track", "UnknownTrackError", "block for an undeclared track"},
    {Errc::kUnsupportedDocument, "unsupported_document", "UnsupportedDocumentError",
     "not a readable Matroska/WebM document"},
    {Errc::kInvalidCodecPrivate, "invalid_codec_private", "InvalidCodecPrivateError",
     "codec private data is malformed"},
    {Errc::kUnsupportedCodec, "unsupported_codec", "UnsupportedCodecError", "codec not supported"},
    {Errc::kMissingCodecPrivate, "missing_codec_private", "MissingCodecPrivateError",
     "codec private data is missing"},
    {Errc::kInvalidFrame, "invalid_frame", "InvalidFrameError", "frame data cannot be parsed"},
};
static_assert(std::size(kErrorTable) == static_cast<std::size_t>(Errc::kCount),
              "every Errc needs a row in kErrorTable");

constexpr bool error_table_in_order() {
  for (std::size_t i = 0; i < std::size(kErrorTable); ++i)
    if (static_cast<std::size_t>(kErrorTable[i].code) != i) return false;
  return true;
}
static_assert(error_table_in_order(), "kErrorTable rows must follow the Errc order");

constexpr const ErrorInfo& error_info(Errc code) { return kErrorTable[static_cast<std::size_t>(code)]; }

/// A data error: what went wrong, where (absolute byte offset in the input) and in which
/// element (`Segment/Cluster[3]/SimpleBlock`).
struct Error {
  Errc code = Errc::kInvalidValue;
  std::uint64_t offset = 0;
  std::string path;
  std::string detail;
};

/// Either a value or an Error. No exceptions for data errors (STYLE §7).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error make_error(Errc code, std::uint64_t offset, std::string detail = {}) {
  return Error{code, offset, {}, std::move(detail)};
}

}  // namespace kvsmux

// Propagates an Error from a Result-returning expression; binds the value otherwise.
#define KVSMUX_CONCAT_INNER(a, b) a##b
#define KVSMUX_CONCAT(a, b) KVSMUX_CONCAT_INNER(a, b)
#define KVSMUX_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                     \
  if (!tmp.ok()) return tmp.take_error(); \
  decl = std::move(tmp).value()
#define KVSMUX_TRY(decl, expr) KVSMUX_TRY_IMPL(KVSMUX_CONCAT(kvsmux_try_, __LINE__), decl, expr)
#define KVSMUX_CHECK(expr)                                \
  do {                                                    \
    auto kvsmux_status_ = (expr);                         \
    if (!kvsmux_status_.ok()) return kvsmux_status_.take_error(); \
  } while (0)
