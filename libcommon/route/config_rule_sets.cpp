// route.rule_set: the config's rule-sets (inline, or local source files) and the ids of the
// built-in tailnet sets after them.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "libcommon/route/config_compiler.hpp"
#include "libcommon/route/source.hpp"

namespace tb::route::detail {

void Compiler::rule_sets(const Json& arr, const std::string& path) {
  const Json* list = this->list(arr, path, "[]option.RuleSet");
  if (!list) return;
  // Tags first, so rules and sets can refer to any set.
  auto defs = rule_set_tags(*list, path);
  tailnet_set_ids();
  RuleCompiler rc{&c_.set_ids, &c_.diagnostics, false};
  for (size_t d = 0; d < defs.size(); ++d) rule_set(*defs[d].first, defs[d].second, *c_.rule_sets[d], rc);
}

// Each set's tag gets the next id; the definitions with a usable tag, with their paths.
std::vector<std::pair<const Json*, std::string>> Compiler::rule_set_tags(const Json& arr, const std::string& path) {
  std::vector<std::pair<const Json*, std::string>> defs;
  for (size_t i = 0; i < arr.size(); ++i) {
    auto p = index_path(path, i);
    if (!rd_.expect_object(arr[i], p)) continue;
    auto tag = str(arr[i], "tag", p);
    if (tag.empty()) {
      rd_.error(p, "missing tag");
      continue;
    }
    if (tag.rfind("tailscale", 0) == 0 &&
        std::find(tailnet_set_tags().begin(), tailnet_set_tags().end(), tag) != tailnet_set_tags().end()) {
      rd_.error(key_path(p, "tag"), "rule-set tag \"" + tag + "\" is reserved for the live tailnet", "parse");
      continue;
    }
    if (c_.set_ids.count(tag)) {
      rd_.error(key_path(p, "tag"), "duplicate rule-set tag: " + tag);
      continue;
    }
    c_.set_ids[tag] = static_cast<uint32_t>(c_.rule_sets.size());
    auto rs = std::make_unique<RuleSet>();
    rs->tag = tag;
    c_.rule_sets.push_back(std::move(rs));
    defs.emplace_back(&arr[i], p);
  }
  return defs;
}

// The built-in tailnet sets take the ids after the config's sets.
void Compiler::tailnet_set_ids() {
  c_.tailnet_set_base = static_cast<uint32_t>(c_.rule_sets.size());
  for (size_t i = 0; i < tailnet_set_tags().size(); ++i)
    c_.set_ids[tailnet_set_tags()[i]] = c_.tailnet_set_base + static_cast<uint32_t>(i);
}

void Compiler::rule_set(const Json& def, const std::string& p, RuleSet& set, RuleCompiler& rc) {
  std::string type = str(def, "type", p);
  if (type.empty()) type = "inline";
  const Json* rules = nullptr;
  Json file_json;
  std::string rules_path = key_path(p, "rules");
  if (type == "inline") {
    keys(def, p, {{Section::kRuleSet}, type});
    auto it = def.find("rules");
    if (it != def.end()) rules = &*it;
  } else if (type == "local" || type == "remote") {
    keys(def, p, {{Section::kRuleSet}, type});
    if (type == "remote") {
      rd_.error(p, "rule-set type \"remote\" is not supported by tailbox (no downloads); use a local source file",
                "unsupported");
      return;
    }
    if (!rule_set_file(def, p, file_json, rules_path)) return;
    if (file_json.contains("rules")) rules = &file_json["rules"];
  } else {
    rd_.error(key_path(p, "type"), "unknown rule-set type: " + type);
    return;
  }
  if (type == "inline" && (!rules || rules->is_null() || (rules->is_array() && rules->empty()))) {
    rd_.error(p, "empty inline rule-set", "create");  // route/rule/rule_set_local.go, NewLocalRuleSet
    return;
  }
  if (!rules || rules->is_null()) return;
  if (!rules->is_array()) {
    rd_.error(rules_path, "json: cannot unmarshal " + json_type_name(*rules) + " into Go value of type []option.HeadlessRule");
    return;
  }
  for (size_t r = 0; r < rules->size(); ++r) {
    auto rule = rc.compile_headless((*rules)[r], index_path(rules_path, r));
    if (rule) set.rules.push_back(std::move(*rule));
  }
}

// A local rule-set: its source file read and checked (sing-box reads it when the router is created,
// so `sing-box check` refuses an unreadable or malformed one); false when there are no rules to compile.
bool Compiler::rule_set_file(const Json& def, const std::string& p, Json& file_json, std::string& rules_path) {
  std::string file = str(def, "path", p), format = str(def, "format", p);
  if (format.empty()) {
    if (file.size() > 5 && file.compare(file.size() - 5, 5, ".json") == 0) format = "source";
    else if (file.size() > 4 && file.compare(file.size() - 4, 4, ".srs") == 0) format = "binary";
  }
  if (format == "binary") {
    rd_.error(p, "rule-set format \"binary\" is not supported by tailbox; decompile it with `sing-box rule-set decompile`",
              "unsupported");
    return false;
  }
  if (format != "source") {
    rd_.error(key_path(p, "format"), "unknown rule-set format: " + format);
    return false;
  }
  std::filesystem::path fp(file);
  if (fp.is_relative() && !o_.base_dir.empty()) fp = std::filesystem::path(o_.base_dir) / fp;
  std::ifstream in(fp, std::ios::binary);
  if (!in) {
    rd_.error(key_path(p, "path"), "read rule-set at " + fp.string() + ": " + std::strerror(errno), "create");
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = parse_config_text(ss.str(), fp.string());
  if (!parsed) {
    rd_.error(key_path(p, "path"), parsed.error().message, "create");
    return false;
  }
  file_json = std::move(*parsed);
  rules_path = key_path(p, "path") + "(" + file + ").rules";
  keys(file_json, key_path(p, "path") + "(" + file + ")", {{}, {}, {"version", "rules"}});
  const Json version = file_json.value("version", Json());
  if (!version.is_number_integer() || version < 1 || version > 4)
    rd_.error(key_path(p, "path"), "unknown rule-set version: " + file_json.value("version", Json()).dump());
  return true;
}

}  // namespace tb::route::detail
