// SPDX-License-Identifier: Apache-2.0
// Output buffers: large ones are reused instead of being returned to the system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>


namespace kvsmux {

/// Large blocks (256 KiB and up, in power-of-two sizes) kept for reuse after they are freed,
/// up to a budget. Writing into memory that is new to the process is slow (each 4 KiB page
/// is faulted in and zeroed on first touch, several times slower than the copy itself in a
/// virtual machine), and a repackager frees and allocates segment-sized buffers all the
/// time. Thread-safe.
namespace large_blocks {
inline constexpr std::size_t kMinBlock = std::size_t{256} << 10;
inline constexpr std::size_t kCacheBudget = std::size_t{256} << 20;
/// A block of `size_class` bytes (a power of two >= kMinBlock), reused when one is cached.
void* acquire(std::size_t size_class);
/// Returns a block to the cache; the oldest cached blocks are freed once over budget.
void release(void* block, std::size_t size_class);
/// The power-of-two size class for `bytes` (>= kMinBlock).
std::size_t size_class(std::size_t bytes);
/// Bytes currently cached, for tests.
std::size_t cached_bytes();
}  // namespace large_blocks

/// The allocator of output buffers: large_blocks from 256 KiB up, the standard allocator below.
template <typename T>
struct LargeBufferAllocator {
  using value_type = T;

  LargeBufferAllocator() = default;
  template <typename U>
  LargeBufferAllocator(const LargeBufferAllocator<U>&) {}  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= large_blocks::kMinBlock) return static_cast<T*>(large_blocks::acquire(large_blocks::size_class(bytes)));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= large_blocks::kMinBlock) return large_blocks::release(p, large_blocks::size_class(bytes));
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const LargeBufferAllocator&, const LargeBufferAllocator&) { return true; }
};

/// The byte buffer every writer produces.
using ByteBuffer = std::vector<std::byte, LargeBufferAllocator<std::byte>>;

}  // namespace kvsmux
