// SPDX-License-Identifier: Apache-2.0
// ISO/IEC 14496-12 §4.2 boxes: a scope writes the header and patches the size when it ends.
#pragma once

#include <optional>

#include "kvsmux/writer.h"

namespace kvsmux::mp4 {

/// Writes a Box (or FullBox, with version and flags) header; the destructor patches its
/// 32-bit size, so a size can never be forgotten or computed twice (STYLE §5b).
class BoxScope {
 public:
  BoxScope(ByteWriter& out, FourCC type) : out_(out), size_(out.reserve<std::uint32_t>()), start_(size_.at) {
    out.fourcc(type);
  }
  BoxScope(ByteWriter& out, FourCC type, std::uint8_t version, std::uint32_t flags) : BoxScope(out, type) {
    out.u8(version);
    out.u24(flags);
  }
  BoxScope(const BoxScope&) = delete;
  BoxScope& operator=(const BoxScope&) = delete;
  ~BoxScope() { out_.patch(size_, static_cast<std::uint32_t>(out_.size() - start_)); }
  /// Absolute position of the box's first byte in the writer.
  std::size_t start() const { return start_; }

 private:
  ByteWriter& out_;
  Slot<std::uint32_t> size_;
  std::size_t start_;
};

}  // namespace kvsmux::mp4
