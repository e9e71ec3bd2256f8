#include "libcommon/route/json_read.hpp"

#include <cstdlib>


namespace tb::route {

std::string json_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    case Json::value_t::number_float: return "number";
    default: return "number";
  }
}

std::string key_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}
std::string index_path(const std::string& parent, size_t i) { return parent + "[" + std::to_string(i) + "]"; }

bool is_zero(const Json& v) {
  if (v.is_null() || v == false || (v.is_number() && v == 0)) return true;
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (v.is_object() && v.contains("enabled") && v["enabled"] == false) return true;
  return (v.is_array() || v.is_object()) && v.empty();
}

bool report_support(const schema::Key* key, const std::string& name, const Json& v, const std::string& path, Reader& rd) {
  if (!key || key->why.empty() || is_zero(v)) return true;
  if (key->support == schema::Support::kWarned) rd.warn(path, std::string(key->why), "ignored");
  if (key->support != schema::Support::kRefused) return true;
  rd.error(path, "\"" + name + "\" (" + std::string(key->why) + ") is not supported by tailbox", "unsupported");
  return false;
}

namespace {
std::string cannot(const Json& v, const char* go_type) {
  return "json: cannot unmarshal " + json_type_name(v) + " into Go value of type " + go_type;
}
}  // namespace

void Reader::impending(const std::string& path, const std::string& msg, const char* env) {
  const char* v = std::getenv((std::string("ENABLE_DEPRECATED_") + env).c_str());
  const std::string s = v ? v : "";
  bool enabled = s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True";
  d_.push_back({enabled ? Severity::kWarning : Severity::kError, path, msg, "deprecated"});
}

bool Reader::expect_object(const Json& v, const std::string& path) {
  if (v.is_object()) return true;
  error(path, cannot(v, "object"));
  return false;
}

std::optional<std::string> Reader::string(const Json& v, const std::string& path) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  error(path, cannot(v, "string"));
  return std::nullopt;
}

std::optional<bool> Reader::boolean(const Json& v, const std::string& path) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  error(path, cannot(v, "bool"));
  return std::nullopt;
}

std::optional<int64_t> Reader::integer(const Json& v, const std::string& path, int64_t min, int64_t max,
                                       const char* go_type) {
  if (v.is_null()) return 0;
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(max)) return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    auto i = v.get<int64_t>();
    if (i >= min && i <= max) return i;
  } else if (!v.is_number_float()) {
    error(path, cannot(v, go_type));
    return std::nullopt;
  }
  error(path, "json: cannot unmarshal number " + v.dump() + " into Go value of type " + go_type);
  return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::strings(const Json& v, const std::string& path) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
    return out;
  }
  if (!v.is_array()) {
    error(path, cannot(v, "string"));
    return std::nullopt;
  }
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].is_string()) {
      out.push_back(v[i].get<std::string>());
    } else {
      error(index_path(path, i), cannot(v[i], "string"));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<uint16_t>> Reader::ports(const Json& v, const std::string& path) {
  std::vector<uint16_t> out;
  if (v.is_null()) return out;
  if (!v.is_array()) {
    auto n = integer(v, path, 0, 65535, "uint16");
    if (!n) return std::nullopt;
    out.push_back(static_cast<uint16_t>(*n));
    return out;
  }
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    auto n = integer(v[i], index_path(path, i), 0, 65535, "uint16");
    if (!n) {
      ok = false;
      continue;
    }
    out.push_back(static_cast<uint16_t>(*n));
  }
  if (!ok) return std::nullopt;
  return out;
}

tb::core::Result<uint32_t> parse_fwmark(std::string_view text) {
  auto fail = [&](const char* why) {
    return tb::core::fail(tb::core::ExitCode::kConfig,
                          "strconv.ParseUint: parsing \"" + std::string(text) + "\": " + why);
  };
  std::string_view digits = text;
  unsigned base = 10;
  if (digits.size() > 1 && digits[0] == '0') {
    char p = static_cast<char>(digits[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    digits.remove_prefix(base == 8 && p != 'o' ? 1 : 2);
  }
  if (digits.empty()) return fail("invalid syntax");
  uint64_t n = 0;
  bool range = false;
  for (char ch : digits) {
    unsigned d = ch >= '0' && ch <= '9' ? unsigned(ch - '0') : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z' ? unsigned((ch | 0x20) - 'a' + 10) : 99;
    if (d >= base) return fail("invalid syntax");
    n = n * base + d;
    if (n > UINT32_MAX) {
      range = true;
      n = UINT32_MAX;
    }
  }
  if (range) return fail("value out of range");
  return static_cast<uint32_t>(n);
}

std::optional<uint32_t> Reader::mark(const Json& v, const std::string& path) {
  if (v.is_string()) {
    auto m = parse_fwmark(v.get_ref<const std::string&>());
    if (!m) {
      error(path, m.error().message);
      return std::nullopt;
    }
    return *m;
  }
  if (v.is_null() || v.is_number()) {
    auto n = integer(v, path, 0, UINT32_MAX, "uint32");
    if (!n) return std::nullopt;
    return static_cast<uint32_t>(*n);
  }
  error(path, cannot(v, "uint32"));
  return std::nullopt;
}

std::optional<double> Reader::duration_seconds(const Json& v, const std::string& path, bool allow_int) {
  if (v.is_null()) return 0.0;
  if (allow_int && v.is_number_integer()) {
    auto n = integer(v, path, 0, INT32_MAX, "int");
    if (!n) return std::nullopt;
    return static_cast<double>(*n);
  }
  if (!v.is_string()) {
    error(path, cannot(v, "string"));
    return std::nullopt;
  }
  auto s = v.get<std::string>();
  auto d = parse_go_duration(s);
  if (!d) {
    error(path, "time: invalid duration \"" + s + "\"");
    return std::nullopt;
  }
  return d;
}

}  // namespace tb::route
