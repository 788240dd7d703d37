// SPDX-License-Identifier: Apache-2.0
#include "check.h"
#include "kvsmux/buffer.h"

using namespace kvsmux;

TEST_CASE(size_classes_are_powers_of_two_from_the_minimum) {
  CHECK_EQ(large_blocks::size_class(1), large_blocks::kMinBlock);
  CHECK_EQ(large_blocks::size_class((1u << 20) + 1), std::size_t{2} << 20);
  CHECK_EQ(large_blocks::size_class(3u << 20), std::size_t{4} << 20);
}

TEST_CASE(freed_large_buffers_are_reused) {
  const std::byte* first = nullptr;
  {
    ByteBuffer b;
    b.reserve(3 << 20);
    first = b.data();
    b.resize(100, std::byte{7});
  }
  CHECK(large_blocks::cached_bytes() >= (std::size_t{4} << 20));
  ByteBuffer again;
  again.reserve(3 << 20);
  CHECK(again.data() == first);  // the same block back: no new memory to fault in
  ByteBuffer small(100);          // below 256 KiB: the standard allocator
  CHECK(small.size() == 100);
}

TEST_CASE(the_cache_stays_within_its_budget) {
  {
    std::vector<ByteBuffer> many(8);
    for (ByteBuffer& b : many) b.reserve(60u << 20);  // 8 x 64 MiB blocks = 512 MiB
  }
  CHECK(large_blocks::cached_bytes() <= large_blocks::kCacheBudget);
  // The newest blocks are the ones kept: a 64 MiB buffer comes back from the cache.
  ByteBuffer b;
  const std::size_t before = large_blocks::cached_bytes();
  b.reserve(60u << 20);
  CHECK_EQ(large_blocks::cached_bytes(), before - (std::size_t{64} << 20));
}

TEST_MAIN()
