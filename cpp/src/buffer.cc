// SPDX-License-Identifier: Apache-2.0
#include "kvsmux/buffer.h"

#include <bit>
#include <deque>
#include <mutex>
#include <utility>

namespace kvsmux::large_blocks {
namespace {

struct Cache {
  std::mutex mutex;
  std::deque<std::pair<std::size_t, void*>> blocks;  // (size class, free block), oldest first
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
    for (auto it = c.blocks.rbegin(); it != c.blocks.rend(); ++it) {  // the most recent of that size
      if (it->first != size) continue;
      void* block = it->second;
      c.blocks.erase(std::next(it).base());
      c.bytes -= size;
      return block;
    }
  }
  return ::operator new(size);
}

void release(void* block, std::size_t size) {
  // Keeps the newest blocks: the oldest go back to the system once over budget, so a
  // change of segment size does not leave the cache full of blocks nobody asks for.
  std::deque<std::pair<std::size_t, void*>> evicted;
  {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    if (size > kCacheBudget) {
      evicted.emplace_back(size, block);
    } else {
      c.blocks.emplace_back(size, block);
      c.bytes += size;
      while (c.bytes > kCacheBudget) {
        evicted.push_back(c.blocks.front());
        c.bytes -= c.blocks.front().first;
        c.blocks.pop_front();
      }
    }
  }
  for (const auto& [bytes, p] : evicted) ::operator delete(p);
}

std::size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.bytes;
}

}  // namespace kvsmux::large_blocks
