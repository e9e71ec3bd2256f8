#include "libcommon/route/format.hpp"

#include <set>

namespace tb::route {

using tb::core::Json;

namespace {

const std::set<std::string, std::less<>> kListable = {
    "inbound", "network", "auth_user", "protocol", "client", "domain", "domain_suffix", "domain_keyword",
    "domain_regex", "source_ip_cidr", "ip_cidr", "source_port", "source_port_range", "port", "port_range",
    "process_name", "process_path", "process_path_regex", "package_name", "user", "user_id", "rule_set",
    "query_type", "advertise_tags", "sniffer", "outbound", "wifi_ssid", "wifi_bssid", "clash_mode",
    "network_type", "preferred_by"};

bool is_empty(const Json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         (v.is_boolean() && !v.get<bool>()) || (v.is_number_integer() && v.get<int64_t>() == 0) ||
         (v.is_number_unsigned() && v.get<uint64_t>() == 0) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

Json clean(const Json& v, const std::string& key) {
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      Json c = clean(it.value(), it.key());
      if (!is_empty(c)) out[it.key()] = std::move(c);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& x : v) {
      Json c = clean(x, "");
      if (!c.is_null()) out.push_back(std::move(c));
    }
    if (out.size() == 1 && kListable.count(key) && !out[0].is_object() && !out[0].is_array()) return out[0];
    return out;
  }
  return v;
}

}  // namespace

Json format_config(const Json& config) {
  Json cleaned = clean(config, "");
  if (!cleaned.is_object()) return cleaned;
  Json out = Json::object();
  for (const char* k : {"$schema", "log", "dns", "ntp", "certificate", "endpoints", "inbounds", "outbounds", "route",
                        "services", "experimental"})
    if (cleaned.contains(k)) out[k] = cleaned[k];
  for (auto it = cleaned.begin(); it != cleaned.end(); ++it)
    if (!out.contains(it.key())) out[it.key()] = it.value();
  return out;
}

std::string format_config_text(const Json& config) {
  return format_config(config).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace tb::route
