#pragma once
// sb-relay's socket owner lookup for the process rules and the conn records' "process": the
// process holding the client's end of a connection, found by tb::route::SockDiagProcessSearcher
// (netlink sock_diag, the uid's /proc/<pid>/fd) on two threads of its own, so that an event loop
// never reads procfs. Only clients on this host have a process: loopback, or an address of one of
// its interfaces, as sing-box's isLocalSource (route/process_cache.go, v1.13.19).

#include <cstdint>
#include <functional>
#include <optional>

#include "libcommon/route/ip.hpp"
#include "libcommon/route/process.hpp"

namespace tb::net {

// Loopback, or an address of one of this host's interfaces (re-read at most once a second).
bool is_local_address(const tb::route::IpAddr& a);

// Looks up the owner of the TCP socket client → local (the client's end of an accepted
// connection) on the lookup threads. `done` runs there, once, with nullopt when the client is not
// on this host, no process holds the socket, or the lookup queue is full.
void find_client_process(const tb::route::IpAddr& client, uint16_t client_port, const tb::route::IpAddr& local,
                         uint16_t local_port, std::function<void(std::optional<tb::route::SocketOwner>)> done);

}  // namespace tb::net
