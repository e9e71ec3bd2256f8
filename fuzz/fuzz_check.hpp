#pragma once
// Invariant checks for the fuzz targets: unlike assert(), they stay on in release builds, and a
// failure aborts, which libFuzzer (and the replay main) reports as a crash with the input saved.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace tb::fuzz {

// The fuzzer's bytes as text (what the decoders of HTTP bodies and JSON lines take).
inline std::string_view as_text(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Whether a decoder refused its input; a refusal must say why.
template <typename Result>
bool refused(const Result& r) {
  if (r) return false;
  FUZZ_CHECK(!r.error().message.empty());
  return true;
}

}  // namespace tb::fuzz
