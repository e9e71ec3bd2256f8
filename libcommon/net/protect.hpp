#pragma once
// Socket protection: the one path by which every socket sb-relay opens toward the outside gets
// its dial fields, as sing-box 1.13.19 applies them on Linux (common/dialer/default.go and the
// control functions of github.com/sagernet/sing/common/control). It serves the TCP dials of
// direct, socks and http outbounds and of the tailscale endpoint, the UDP ASSOCIATE sockets and
// DNS queries. Internal header: it includes asio.
//
// Contract, for every caller:
// - open the socket with open_tcp / open_udp (or open_socket_fd), never with socket::open(): a
//   netns must be entered before the socket exists;
// - a non-empty error means no socket is returned and the dial has failed: never fall back to
//   an unprotected socket; put the error (it names the field) in the conn record;
// - connect or send only after the call has returned.
//
// What is applied, in sing-box's order: bind_interface (SO_BINDTOIFINDEX, else SO_BINDTODEVICE;
// by name inside a netns), routing_mark (SO_MARK; route.default_mark already folded in), else
// route.default_interface or route.auto_detect_interface (the interface of the main table's
// default route, followed through netlink, never tailscale0; not for loopback or multicast
// destinations, and the interface owning or on-link for the destination first), protect_path
// (the descriptor in SCM_RIGHTS to a Unix stream server, one byte back, bounded by
// connect_timeout), bind_address_no_port (TCP), udp_fragment (false: DF on UDP), reuse_addr
// (UDP), TCP keep-alive (on unless disable_tcp_keep_alive: idle 5 min, interval 75 s, 9 probes),
// tcp_fast_open (TCP_FASTOPEN_CONNECT), tcp_multi_path (IPPROTO_MPTCP, plain TCP where the kernel
// has none), then inet4_bind_address / inet6_bind_address.

#include <optional>
#include <string>

#include "libcommon/net/io.hpp"
#include "libcommon/net/outbound.hpp"

namespace tb::net {

enum class SocketKind { kTcp, kUdp };

template <typename Socket>
struct Protected {
  std::optional<Socket> socket;
  std::string error;  // non-empty: no socket, the dial fails with this text
  bool ok() const { return socket.has_value() && error.empty(); }
};

// A socket of `kind` for `remote`'s family, opened (inside opts.netns when set) and protected.
awaitable<Protected<tcp::socket>> open_tcp(const tcp::endpoint& remote, const DialOptions& opts);
awaitable<Protected<udp::socket>> open_udp(const udp::endpoint& remote, const DialOptions& opts);

// The fields on a descriptor the caller opened with open_socket_fd (for a library that wants a
// descriptor): everything above but the bind addresses. Returns "" or the error.
awaitable<std::string> protect_socket(int fd, SocketKind kind, const asio::ip::address& remote,
                                      const DialOptions& opts);

// The same, blocking the calling thread (the protect_path exchange bounded by connect_timeout):
// for sockets made off the event loop.
std::string protect_socket_blocking(int fd, SocketKind kind, const asio::ip::address& remote, const DialOptions& opts);

// TCP keep-alive as the keys say: on unless disable_tcp_keep_alive (idle tcp_keep_alive or 5 min,
// interval tcp_keep_alive_interval or 75 s, 9 probes). Dials get it from protect_socket; an
// inbound sets it on its listening socket, and every accepted connection inherits it (Go's
// ListenConfig sets it on each accepted connection instead).
std::string set_keep_alive(int fd, const DialOptions& opts);

// An inbound's listening socket (common/listener/listener_tcp.go) or its UDP ASSOCIATE relay
// socket (listener_udp.go's ListenPacket): bind_interface, routing_mark and reuse_addr; for TCP
// also tcp_fast_open (TCP_FASTOPEN, queue net.core.somaxconn). Open it with open_socket_fd for
// netns and tcp_multi_path. Returns "" or the error.
std::string protect_listener(int fd, SocketKind kind, const DialOptions& opts);

// A raw descriptor (close-on-exec, non-blocking) of `kind` for the family `v6`, created inside
// opts.netns when set, with IPPROTO_MPTCP for tcp_multi_path; -1 and `error` when that fails.
int open_socket_fd(SocketKind kind, bool v6, const DialOptions& opts, std::string& error);

}  // namespace tb::net
