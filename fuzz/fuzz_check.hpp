#pragma once
// Invariant checks for the fuzz targets: unlike assert(), they stay on in release builds, and a
// failure aborts, which libFuzzer (and the replay main) reports as a crash with the input saved.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)
