// Helpers of the fake daemon (support.hpp).

#include "support.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace tb::fake {

const std::map<std::string, int> kStateNum = {{"NoState", 0}, {"InUseOtherUser", 1}, {"NeedsLogin", 2},
                                              {"NeedsMachineAuth", 3}, {"Stopped", 4}, {"Starting", 5},
                                              {"Running", 6}};
const std::map<std::string, int> kDerpIds = {{"nyc", 1}, {"sfo", 2}, {"sin", 3}, {"fra", 4}, {"syd", 5},
                                             {"blr", 6}, {"tok", 7}, {"lhr", 8}, {"dfw", 9}, {"sea", 10},
                                             {"sao", 11}, {"ord", 12}, {"den", 13}, {"ams", 14}, {"jnb", 15},
                                             {"mia", 16}, {"lax", 17}, {"par", 18}, {"mad", 19}, {"hkg", 20},
                                             {"tor", 21}, {"waw", 22}, {"dbi", 23}, {"hnl", 24}, {"nai", 25}};

namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string det_hex(uint64_t seed, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  while (s.size() < n) {
    uint64_t v = splitmix(seed);
    for (int i = 0; i < 16 && s.size() < n; ++i, v >>= 4) s += d[v & 15];
  }
  return s;
}

std::string random_hex(size_t n) {
  std::random_device rd;
  return det_hex((static_cast<uint64_t>(rd()) << 32) ^ rd(), n);
}

uint64_t hash_str(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

namespace {

std::string fmt_time(std::time_t t, int offset_hours) {
  t += offset_hours * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s = buf;
  if (offset_hours == 0) return s + "Z";
  char off[16];  // room for any int, though offsets are within ±14 h
  std::snprintf(off, sizeof off, "%c%02d:00", offset_hours < 0 ? '-' : '+', std::abs(offset_hours) % 100);
  return s + off;
}

}  // namespace

std::string now_utc() { return fmt_time(std::time(nullptr), 0); }
std::string now_local() { return fmt_time(std::time(nullptr), -3); }

namespace {

std::string sha256_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) (out += d[md[i] >> 4]) += d[md[i] & 15];
  return out;
}

}  // namespace

void redact(Json& j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "AuthKey" && v.is_string() && !v.get<std::string>().empty())
        v = Json{{"redacted", true}, {"sha256", sha256_hex(v.get<std::string>())}};
      else
        redact(v);
    }
  } else if (j.is_array()) {
    for (auto& v : j) redact(v);
  }
}

std::string redact_text(std::string s) {
  for (size_t p = 0; (p = s.find("tskey-", p)) != std::string::npos;) {
    size_t e = p + 6;
    while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '-' || s[e] == '_')) ++e;
    s.replace(p, e - p, "tskey-REDACTED");
    p += 14;
  }
  return s;
}

Json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

bool parse_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// netip.Prefix.Masked().String().
std::string masked_prefix(const std::string& pfx) {
  auto slash = pfx.find('/');
  if (slash == std::string::npos) return "";
  std::string ip = pfx.substr(0, slash);
  int bits = 0;
  try {
    bits = std::stoi(pfx.substr(slash + 1));
  } catch (...) {
    return "";
  }
  unsigned char b[16] = {};
  bool v6 = ip.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), b) != 1) return "";
  int n = v6 ? 16 : 4;
  if (bits < 0 || bits > n * 8) return "";
  for (int k = 0; k < n; ++k) {
    int keep = std::clamp(bits - k * 8, 0, 8);
    b[k] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  char out[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, b, out, sizeof out);
  return std::string(out) + "/" + std::to_string(bits);
}

std::string ip_prefix(const std::string& ip) { return ip + (ip.find(':') == std::string::npos ? "/32" : "/128"); }

}  // namespace tb::fake
