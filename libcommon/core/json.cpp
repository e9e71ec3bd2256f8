#include "libcommon/core/json.hpp"

namespace tb::core {

bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

Json parse_or_discarded(std::string_view text) {
  if (nests_deeper_than(text)) return Json(Json::value_t::discarded);
  return Json::parse(text.begin(), text.end(), nullptr, false);
}

Result<Json> parse_json(std::string_view text, ExitCode code_on_error, std::string_view what) {
  if (nests_deeper_than(text))
    return fail(code_on_error, std::string(what) + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // parse_error for bad syntax, but also out_of_range for a number that overflows ("1e999"):
    // both are bad input, never a crash (the bus thread would take the process down).
    std::string msg = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the human part.
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    return fail(code_on_error, std::string(what) + ": " + msg);
  }
}

std::string dump_line(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {
const Json* find(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

std::string get_string(const Json& obj, std::string_view key, std::string def) {
  const Json* v = find(obj, key);
  return v && v->is_string() ? v->get<std::string>() : def;
}

bool get_bool(const Json& obj, std::string_view key, bool def) {
  const Json* v = find(obj, key);
  return v && v->is_boolean() ? v->get<bool>() : def;
}

int64_t get_int(const Json& obj, std::string_view key, int64_t def) {
  const Json* v = find(obj, key);
  if (!v) return def;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned()) {
      auto u = v->get<uint64_t>();
      return u > static_cast<uint64_t>(INT64_MAX) ? def : static_cast<int64_t>(u);
    }
    return v->get<int64_t>();
  }
  // Old daemons and hand-written fixtures sometimes quote IDs.
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    try {
      size_t pos = 0;
      long long n = std::stoll(s, &pos);
      if (pos == s.size()) return n;
    } catch (...) {
    }
  }
  return def;
}

std::vector<std::string> get_strings(const Json& obj, std::string_view key) {
  std::vector<std::string> out;
  const Json* v = find(obj, key);
  if (!v || !v->is_array()) return out;
  for (const auto& e : *v) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

const Json* get_object(const Json& obj, std::string_view key) {
  const Json* v = find(obj, key);
  return v && v->is_object() ? v : nullptr;
}

}  // namespace tb::core
