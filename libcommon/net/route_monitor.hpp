#pragma once
// route.auto_detect_interface on Linux: the interface of the main routing table's default route,
// kept current by one thread listening to rtnetlink (routes, links and addresses of both
// families), as sing-tun's defaultInterfaceMonitor does (monitor_linux_default.go at the version
// sing-box 1.13.19 uses), but re-read at once on each event instead of a second later.
// tailscale0 is never chosen (tailscaled puts its default route in table 52, not main; a main one
// through it would be a loop).

#include <optional>
#include <string>

#include <asio/ip/address.hpp>

namespace tb::net {

struct NetInterface {
  std::string name;
  unsigned index = 0;
};

// The interface a socket toward `remote` binds to (sing-box's route/network.go,
// AutoDetectInterfaceFunc, with sing's InterfaceFinder.ByAddr): a running interface that owns
// `remote`, else one whose prefix holds it, else the default route's. nullopt: no default route
// in the main table. The first call starts the monitor (and reads the table once); it runs until
// the process exits. Each change is logged at info level ("auto_detect_interface: default
// interface NAME (index N)", or "... no default route").
std::optional<NetInterface> auto_detect_interface_for(const asio::ip::address& remote);

}  // namespace tb::net
