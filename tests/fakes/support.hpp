#pragma once
// What the daemon's files share: Go's zero values and state numbers, deterministic ids, Go's time
// strings, redaction of secrets for the request log, IP strings, and Go's JSON decoding of a body.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "fake.hpp"

namespace tb::fake {

inline constexpr const char* kZeroKey = "nodekey:0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

extern const std::map<std::string, int> kStateNum;  // ipn.State: BackendState string -> Notify int
extern const std::map<std::string, int> kDerpIds;   // DERP region code -> region id

// Deterministic hex so generated keys are stable across runs (golden files, benchmarks).
std::string det_hex(uint64_t seed, size_t n);
std::string random_hex(size_t n);
uint64_t hash_str(const std::string& s);
std::string now_utc();
std::string now_local();  // LastWrite/LastHandshake carry a local offset in real data

// The fake must never write a secret to disk: tests grep every log for the key.
void redact(Json& j);
std::string redact_text(std::string s);

Json read_json_file(const std::string& path);
bool parse_ip(const std::string& s);
std::string masked_prefix(const std::string& pfx);  // "10.1.2.3/24" -> "10.1.2.0/24", "" if not a prefix
std::string ip_prefix(const std::string& ip);       // "100.64.0.2" -> "100.64.0.2/32"

// Decode BODY like Go's json.Decoder into a struct of GO_TYPE: an object (null decodes to an empty
// one), or Go's error text in err (go_json.cpp).
bool go_decode(const std::string& body, const char* go_type, Json& out, std::string& err);

}  // namespace tb::fake
