#pragma once
// The string helpers every layer needs, once: ASCII case folding (DNS names, HTTP header names
// and schemes, sing-box's case-insensitive keys), trimming and JSON string literals. ASCII only on
// purpose: hostnames and protocol tokens are ASCII, and a locale must never change a match.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libcommon/core/json.hpp"

namespace tb::core {

inline constexpr char ascii_lower(char ch) {
  return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
}

inline void lower_in_place(std::string& s) {
  for (auto& ch : s) ch = ascii_lower(ch);
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  lower_in_place(out);
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// A DNS name without its one trailing dot ("peer.tail1ab.ts.net." → "peer.tail1ab.ts.net").
inline std::string without_trailing_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return std::string(s);
}

// Whitespace as isspace() sees it in the C locale.
inline constexpr std::string_view kSpace = " \t\r\n\f\v";

// s without leading and trailing characters of `chars` (HTTP's optional white space: " \t").
inline std::string_view trim(std::string_view s, std::string_view chars = kSpace) {
  auto b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(chars) - b + 1);
}

// s as a JSON string literal, exactly as Json(s).dump() writes it, except that bytes that are not
// UTF-8 become U+FFFD instead of throwing. Plain printable ASCII takes a fast path.
inline std::string json_quote(std::string_view s) {
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\')
      return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  out.append(s);
  out.push_back('"');
  return out;
}

// Base64 (RFC 4648 §4), with or without padding, read up to the first '='; with url_safe the URL
// alphabet's '-' and '_' (§5) are taken too. nullopt on any other character.
inline std::optional<std::string> base64_decode(std::string_view in, bool url_safe = false) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || (url_safe && c == '-')) v = 62;
    else if (c == '/' || (url_safe && c == '_')) v = 63;
    else if (c == '=') break;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// Base64 with padding (RFC 4648 §4).
inline std::string base64_encode(std::string_view in) {
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlpha[(v >> shift) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlpha[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace tb::core
