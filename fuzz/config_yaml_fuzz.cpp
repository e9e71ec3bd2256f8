// The config loader on one YAML file: see config_fuzz.hpp.
#include "fuzz/config_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return tb::fuzz::run_config(data, size, "fuzz.yaml");
}
