// SPDX-License-Identifier: Apache-2.0
// A minimal test harness for the core's unit tests: no dependency, one executable per file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>
#include <span>
#include <initializer_list>

namespace check {

struct Case { const char* name; void (*fn)(); };
inline std::vector<Case>& cases() { static std::vector<Case> c; return c; }
inline int& failures() { static int f = 0; return f; }
struct Register { Register(const char* n, void (*f)()) { cases().push_back({n, f}); } };

inline int run_all() {
  for (const Case& c : cases()) {
    const int before = failures();
    c.fn();
    std::printf("%s %s\n", failures() == before ? "PASS" : "FAIL", c.name);
  }
  std::printf("%zu cases, %d failed checks\n", cases().size(), failures());
  return failures() == 0 ? 0 : 1;
}

inline std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

}  // namespace check

#define TEST_CASE(name)                                          \
  static void name();                                            \
  static ::check::Register name##_registration(#name, &name);    \
  static void name()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);         \
      ++::check::failures();                                                         \
    }                                                                                \
  } while (0)

#define CHECK_EQ(a, b)                                                               \
  do {                                                                               \
    const auto check_a_ = (a);                                                      \
    const auto check_b_ = (b);                                                      \
    if (!(check_a_ == check_b_)) {                                                   \
      std::printf("  %s:%d: CHECK_EQ(%s, %s) failed\n", __FILE__, __LINE__, #a, #b); \
      ++::check::failures();                                                         \
    }                                                                                \
  } while (0)

#define TEST_MAIN() int main() { return ::check::run_all(); }
