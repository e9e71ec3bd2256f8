#pragma once
// ipn.Prefs (docs/localapi.md, "Prefs and MaskedPrefs"): the fields tailbox reads, plus the whole document so that
// callers can send it back (check-prefs, start) without losing fields this version doesn't know.
// Tolerant like Status: nulls, missing and unknown fields, "AllowSingleHosts" present or not.

#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::ts {

struct Prefs {
  std::string control_url;
  bool route_all = false;  // --accept-routes
  std::string exit_node_id;
  std::string exit_node_ip;
  bool exit_node_allow_lan_access = false;
  std::string auto_exit_node;  // AutoExitNode (1.86+): "any" while tailscaled picks the exit node, else ""
  bool corp_dns = false;  // --accept-dns
  bool run_ssh = false;
  bool want_running = false;
  bool logged_out = false;
  bool shields_up = false;
  std::vector<std::string> advertise_tags;
  std::vector<std::string> advertise_routes;
  std::string hostname;
  std::string operator_user;
  int64_t netfilter_mode = 0;
  core::Json raw;  // the document as received
};

core::Result<Prefs> parse_prefs(std::string_view body);
core::Result<Prefs> prefs_from_json(const core::Json& doc);

}  // namespace tb::ts
