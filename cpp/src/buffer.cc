// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/buffer.h"

#include <bit>
#include <map>
#include <mutex>

namespace kvsmux::large_blocks {
namespace {

struct Cache {
  std::mutex mutex;
  std::multimap<std::size_t, void*> blocks;  // size class -> free block
  std::size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: blocks may be released during shutdown
  return *c;
}

}  // namespace

std::size_t size_class(std::size_t bytes) { return std::bit_ceil(bytes < kMinBlock ? kMinBlock : bytes); }

void* acquire(std::size_t size) {
  {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    auto it = c.blocks.find(size);
    if (it != c.blocks.end()) {
      void* block = it->second;
      c.blocks.erase(it);
      c.bytes -= size;
      return block;
    }
  }
  return ::operator new(size);
}

void release(void* block, std::size_t size) {
  {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    if (c.bytes + size <= kCacheBudget) {
      c.blocks.emplace(size, block);
      c.bytes += size;
      return;
    }
  }
  ::operator delete(block);
}

std::size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.bytes;
}

}  // namespace kvsmux::large_blocks
