#include "libcommon/route/source.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace tb::route {

using tb::core::ExitCode;
using tb::core::fail;

std::string strip_jsonc(std::string_view in) {
  std::string out(in);
  size_t n = out.size();
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    char c = out[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '#' || (c == '/' && i + 1 < n && out[i + 1] == '/')) {
      while (i < n && out[i] != '\n') out[i++] = ' ';
    } else if (c == '/' && i + 1 < n && out[i + 1] == '*') {
      out[i] = out[i + 1] = ' ';
      i += 2;
      while (i < n && !(out[i] == '*' && i + 1 < n && out[i + 1] == '/')) {
        if (out[i] != '\n') out[i] = ' ';
        ++i;
      }
      if (i < n) out[i] = ' ';
      if (i + 1 < n) out[i + 1] = ' ';
      ++i;
    }
  }
  // Trailing commas: a ',' followed only by whitespace before '}' or ']'.
  in_string = false;
  for (size_t i = 0; i < n; ++i) {
    char c = out[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == ',') {
      size_t j = i + 1;
      while (j < n && (out[j] == ' ' || out[j] == '\t' || out[j] == '\r' || out[j] == '\n')) ++j;
      if (j < n && (out[j] == '}' || out[j] == ']')) out[i] = ' ';
    }
  }
  return out;
}

namespace {

std::string printable(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return s;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool is_yaml_name(const std::string& name) { return ends_with(name, ".yaml") || ends_with(name, ".yml"); }

// yaml-cpp's aliases share one node; in JSON each is a copy. Nine anchors of nine aliases each
// ("billion laughs") turn 500 bytes into 387 million values, so the conversion has a budget of
// values proportional to the text (without aliases a document has fewer values than bytes) and
// stops at the JSON nesting limit.
struct YamlToJson {
  explicit YamlToJson(size_t max_values) : limit(max_values), budget(max_values) {}
  size_t limit;
  size_t budget;
  std::string error;

  Json convert(const YAML::Node& n, int depth) {
    if (!error.empty()) return nullptr;
    if (budget == 0) {
      error = "aliases expand to more than " + std::to_string(limit) + " values";
      return nullptr;
    }
    --budget;
    if ((n.Type() == YAML::NodeType::Sequence || n.Type() == YAML::NodeType::Map) && depth >= tb::core::kMaxJsonDepth) {
      error = "nested deeper than " + std::to_string(tb::core::kMaxJsonDepth) + " levels";
      return nullptr;
    }
    return value(n, depth);
  }

  Json value(const YAML::Node& n, int depth);
};

Json YamlToJson::value(const YAML::Node& n, int depth) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& x : n) a.push_back(convert(x, depth + 1));
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = convert(kv.second, depth + 1);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: always a string
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
      // YAML 1.2 core schema numbers; anything else stays a string.
      auto digits = [](std::string_view t) {
        return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
      };
      std::string_view v = s;
      bool neg = !v.empty() && (v[0] == '-' || v[0] == '+');
      if (digits(neg ? v.substr(1) : v)) {
        try {
          if (v[0] == '-') return std::stoll(s);
          return std::stoull(std::string(v[0] == '+' ? v.substr(1) : v));
        } catch (...) {
          // Huge: a double, rejected later as out of range (JSON has no leading '+'). Past a
          // double (about 1.8e308) the parse is discarded, and a discarded value would dump as
          // "<discarded>": it stays a string then, and the field's type check names it.
          Json d = Json::parse(v[0] == '+' ? v.substr(1) : v, nullptr, false);
          return d.is_discarded() ? Json(s) : d;
        }
      }
      auto dot = v.find('.');
      if (dot != std::string_view::npos && digits((neg ? v.substr(1) : v).substr(0, dot - (neg ? 1 : 0))) &&
          digits(v.substr(dot + 1))) {
        try {
          return std::stod(s);
        } catch (...) {
        }
      }
      return s;
    }
  }
  return nullptr;
}

Result<std::string> read_file(const std::string& path) {
  if (path == "stdin" || path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail(ExitCode::kConfig, path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ExitCode::kConfig, "read config at " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<Json> parse_yaml(std::string_view text, const std::string& name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    YamlToJson conv(16 * text.size() + 4096);
    Json j = conv.convert(root, 0);
    if (!conv.error.empty()) return fail(ExitCode::kConfig, "decode config at " + name + ": yaml: " + conv.error);
    if (!j.is_object()) return fail(ExitCode::kConfig, "decode config at " + name + ": YAML document is not a mapping");
    return j;
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 stops at its own depth limit with the message "bad file".
    return fail(ExitCode::kConfig, "decode config at " + name + ": yaml: line " + std::to_string(e.mark.line + 1) +
                                       ", column " + std::to_string(e.mark.column + 1) + ": nested too deeply");
  } catch (const YAML::Exception& e) {
    return fail(ExitCode::kConfig, "decode config at " + name + ": yaml: line " + std::to_string(e.mark.line + 1) +
                                       ", column " + std::to_string(e.mark.column + 1) + ": " + printable(e.msg));
  }
}

Result<Json> parse_config_text(std::string_view text, const std::string& name) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return fail(ExitCode::kConfig, "decode config at " + name + ": empty file");
  if (text.find('\0') != std::string_view::npos)
    return fail(ExitCode::kConfig, "decode config at " + name + ": not a text file (NUL byte)");
  if (is_yaml_name(name)) return parse_yaml(text, name);
  std::string stripped = strip_jsonc(text);
  if (tb::core::nests_deeper_than(stripped))
    return fail(ExitCode::kConfig, "decode config at " + name + ": json: nested deeper than " +
                                       std::to_string(tb::core::kMaxJsonDepth) + " levels");
  try {
    Json j = Json::parse(stripped);
    if (!j.is_object())
      return fail(ExitCode::kConfig, "decode config at " + name + ": json: cannot unmarshal " +
                                         std::string(j.is_array() ? "array" : "value") + " into Go value of type option._Options");
    return j;
  } catch (const Json::exception& e) {
    // parse_error for bad syntax, out_of_range for a number past a double ("1e999"): both are a bad
    // config (exit 78), never an uncaught exception.
    if (text[first] != '{' && text[first] != '[') {
      auto y = parse_yaml(text, name);
      if (y) return y;
    }
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    return fail(ExitCode::kConfig, "decode config at " + name + ": " + printable(msg));
  }
}

Result<Json> merge_json(const Json& earlier, const Json& later, const std::string& path) {
  if (earlier.is_null()) return later;
  if (later.is_null()) return earlier;
  if (earlier.is_object() != later.is_object())
    return fail(ExitCode::kConfig, "cannot merge json object into " + std::string(earlier.is_object() ? later.type_name() : earlier.type_name()) +
                                       (path.empty() ? "" : " at " + path));
  if (earlier.is_object()) {
    Json out = earlier;
    for (auto it = later.begin(); it != later.end(); ++it) {
      auto p = path.empty() ? it.key() : path + "." + it.key();
      auto cur = out.find(it.key());
      if (cur == out.end()) {
        out[it.key()] = it.value();
        continue;
      }
      auto m = merge_json(*cur, it.value(), p);
      if (!m) return m;
      *cur = std::move(*m);
    }
    return out;
  }
  if (earlier.is_array() && later.is_array()) {
    Json out = earlier;
    for (const auto& x : later) out.push_back(x);
    return out;
  }
  return earlier;  // [quirk][verify] the accumulated (earlier) value wins on a scalar conflict
}

Result<LoadedConfig> load_config(const ConfigSources& src) {
  std::vector<std::string> paths = src.files;
  for (const auto& dir : src.dirs) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) return fail(ExitCode::kConfig, "read config directory at " + dir + ": " + ec.message());
    for (const auto& e : it) {
      auto p = e.path().string();
      if (e.is_regular_file() && (ends_with(p, ".json") || is_yaml_name(p))) paths.push_back(p);
    }
  }
  if (paths.empty()) paths.push_back("config.json");
  std::sort(paths.begin(), paths.end());
  LoadedConfig out;
  out.merged = Json::object();
  for (const auto& p : paths) {
    auto text = read_file(p);
    if (!text) return tl::unexpected(text.error());
    auto j = parse_config_text(*text, p);
    if (!j) return tl::unexpected(j.error());
    auto m = merge_json(out.merged, *j);
    if (!m) return fail(ExitCode::kConfig, "merge config at " + p + ": " + m.error().message);
    out.merged = std::move(*m);
    out.paths.push_back(p);
  }
  return out;
}

}  // namespace tb::route
