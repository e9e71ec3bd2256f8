#include "libcommon/tailscale/notify.hpp"

namespace tb::ts {

namespace {
bool present(const core::Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && !it->is_null();
}
}  // namespace

core::Result<Notify> parse_notify(std::string_view line) {
  using namespace core;
  auto doc = parse_json(line, ExitCode::kProtocol, "watch-ipn-bus: tailscaled sent an invalid line");
  if (!doc) return tl::unexpected(doc.error());
  const Json& d = *doc;
  if (!d.is_object()) return fail(ExitCode::kProtocol, "watch-ipn-bus: a line is not a JSON object");
  Notify n;
  n.version = get_string(d, "Version");
  n.session_id = get_string(d, "SessionID");
  if (present(d, "ErrMessage")) n.err_message = get_string(d, "ErrMessage");
  n.login_finished = present(d, "LoginFinished");
  if (present(d, "State")) {
    const Json& st = d["State"];
    if (st.is_number_integer()) n.state = backend_state_from_int(st.get<long long>());
    else if (st.is_string()) n.state = backend_state_from_string(st.get<std::string>());
  }
  if (const Json* p = get_object(d, "Prefs")) {
    auto prefs = prefs_from_json(*p);
    if (prefs) n.prefs = std::move(*prefs);
  }
  if (present(d, "BrowseToURL")) n.browse_to_url = get_string(d, "BrowseToURL");
  n.has_netmap = present(d, "NetMap");
  n.has_engine = present(d, "Engine");
  n.has_health = present(d, "Health");
  n.has_peer_changes = present(d, "PeersChanged") || present(d, "PeersRemoved") || present(d, "PeerChangedPatch");
  n.raw = std::move(*doc);
  return n;
}

}  // namespace tb::ts
