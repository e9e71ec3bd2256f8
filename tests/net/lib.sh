# Sourced by every tests/net/*.sh (the ctest glob skips this file). It sources tests/cli/lib.sh
# (fail, skip, track_pid, fake_ctl, …), checks what the namespace tests need (else exit 77 with
# the reason), and builds a small tailnet the way tailscaled sets one up on Linux (docs/localapi.md,
# "Proxies and routing-loop avoidance"; tailscale's wgengine/router/osrouter/router_linux.go):
#
#   node ns  tailscale0 100.101.1.1/32 fd7a:115c:a1e0::1/128   ul0 10.101.0.1/30   wan0 198.18.0.1/24
#   peer ns  tailscale0 100.101.1.2/32 fd7a:115c:a1e0::2/128   ul0 10.101.0.2/30
#   inet ns                                                                        wan0 198.18.0.2/24
#
# tailscale0 is wireguard-go (fwmark 0x80000, port 41641) over the ul0 veth pair; each end's peer
# routes are in table 52 with tailscaled's rules (5210/5230/5250 fwmark 0x80000/0xff0000 → main,
# default, unreachable; 5270 → table 52), IPv4 and IPv6. tests/net/httpd.py answers on the peer's
# tailnet addresses :8080 ("peer saw <client>") and on 198.18.0.2:8080 in the inet namespace
# ("inet saw <client>"). The node namespace has no other route to the peer's tailnet addresses.
#
#   tailnet_up                  build all of it; returns once a first request crossed the tunnel
#   in_ns NS CMD...             run CMD in namespace NS ($NS_NODE, $NS_PEER, $NS_INET)
#   wg_ns NS ARGS...            wg ARGS against NS's wireguard-go (its own /run, see wg_start)
#   wg_bytes                    "RX TX": the node's tailscale0 transfer counters for the peer
#   wan_tx                      bytes the node has sent on wan0 (its link to the inet namespace)
#   srv_requests NAME           request lines httpd NAME (peer, inet) has logged so far
#   start_daemon [ARGS...]      fake_tailscaled in the node ns on $DAEMON_SOCK (the same path on every
#                               start) with tests/net/tailnet.json; sets FAKE_SOCK FAKE_CTL FAKE_PID
#   stop_daemon                 SIGTERM it, bounded wait, exit 0 and socket gone
# From proxy-lib.sh (shared with tests/tailnet):
#   start_proxy [ARGS...]       scripts/tailbox-proxy --bin --socket ARGS in the node ns, its stdout a
#                               socket (as under systemd) copied to $PROXY_OUT; waits for sb-relay's
#                               listening record
#   stop_proxy                  SIGTERM to tailbox-proxy; fail unless it and every stage exit (≤ 15 s)
#   get URL [PORT [SCHEME]]     curl URL through the proxy (SCHEME://127.0.0.1:PORT, default socks5h, 1080)
#                               from the node ns; returns curl's status; body in $BODY, the connection's
#                               conn record (waited for) in $CONN
#   generation                  generation of the newest conn record
#   wait_plan_after G [SECS]    direct requests through the proxy until one runs on a plan newer than G
#   wait_for SECONDS CMD...     run CMD every 50 ms until it succeeds, or fail
#
# Everything is cleaned up by the EXIT trap: every process in the namespaces (by PID, from
# `ip netns pids`), the tracked PIDs, then the namespaces (which removes the veths and tailscale0).

_net_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_net_here/../cli/lib.sh"

NS_NODE=tbnet$$-node
NS_PEER=tbnet$$-peer
NS_INET=tbnet$$-inet
PEER4=100.101.1.2 PEER6=fd7a:115c:a1e0::2 NODE4=100.101.1.1 NODE6=fd7a:115c:a1e0::1 INET4=198.18.0.2
SUFFIX=tail5a7e.ts.net
_net_ns=()

# ---------------------------------------------------------------- prerequisites (exit 77 + reason)
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, wireguard-go, SO_MARK); running as uid $(id -u)"
for _c in ip wireguard-go wg curl jq python3 mount; do
  command -v "$_c" >/dev/null || skip "$_c is not installed (scripts/install-deps.sh installs it)"
done
[ -c /dev/net/tun ] || skip "no /dev/net/tun: wireguard-go needs a TUN device"
for _c in ts-status sb-route sb-relay; do
  [ -x "$TB_BIN/$_c/$_c" ] || skip "$_c not built ($TB_BIN/$_c/$_c)"
done
[ -x "$TB_FAKES/fake_tailscaled" ] || skip "fake_tailscaled not built ($TB_FAKES)"

_net_cleanup() {
  local rc=$? ns pids i
  set +e
  for ns in "${_net_ns[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [ -z "$pids" ] || kill -TERM $pids 2>/dev/null
  done
  for ns in "${_net_ns[@]}"; do
    for ((i = 0; i < 200; i++)); do  # sb-relay drains for up to 5 s
      [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || break
      sleep 0.05
    done
    pids=$(ip netns pids "$ns" 2>/dev/null)
    if [ -n "$pids" ]; then
      echo "cleanup: still running 10 s after SIGTERM, killed:" $(ps -o pid=,args= -p "${pids//$'\n'/,}") >&2
      kill -KILL $pids 2>/dev/null
    fi
    ip netns del "$ns" 2>/dev/null
  done
  (exit "$rc")
  _tb_cleanup
}
trap _net_cleanup EXIT

# wireguard-go's UAPI socket is /var/run/wireguard/tailscale0.sock in every namespace, so each
# wireguard-go (and each wg talking to it) runs in the private mount namespace of `ip netns exec`
# with a per-namespace directory bound over /run (platform.md, gotcha 2). Nothing is left in /run.
wg_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" sh -c 'mount --bind "$0" /run && exec wg "$@"' "$t/run-$ns" "$@"
}

wg_start() {
  local ns=$1
  mkdir -p "$t/run-$ns"
  ip netns exec "$ns" sh -c 'mount --bind "$0" /run && exec wireguard-go -f tailscale0' "$t/run-$ns" \
    >"$t/wg-$ns.log" 2>&1 &
  local pid=$! end=$((SECONDS + 10))
  track_pid "$pid"
  until [ -S "$t/run-$ns/wireguard/tailscale0.sock" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      # A TUN device that exists but cannot be opened (a container without the capability) is the
      # machine's limit, not a failure of tailbox.
      grep -q "Failed to create TUN device" "$t/wg-$ns.log" &&
        skip "wireguard-go cannot create a TUN device here: $(grep -m1 "Failed to create TUN" "$t/wg-$ns.log")"
      fail "wireguard-go in $ns exited: $(cat "$t/wg-$ns.log")"
    fi
    [ "$SECONDS" -lt "$end" ] || fail "wireguard-go in $ns: no UAPI socket within 10 s: $(cat "$t/wg-$ns.log")"
    sleep 0.05
  done
}

# tailscaled's policy rules and table 52, both families (router_linux.go).
ts_routes() {  # NS PEER_V4 PEER_V6
  local ns=$1 f
  for f in -4 -6; do
    ip -n "$ns" $f rule add pref 5210 fwmark 0x80000/0xff0000 lookup main
    ip -n "$ns" $f rule add pref 5230 fwmark 0x80000/0xff0000 lookup default
    ip -n "$ns" $f rule add pref 5250 fwmark 0x80000/0xff0000 unreachable
    ip -n "$ns" $f rule add pref 5270 lookup 52
  done
  ip -n "$ns" route add "$2/32" dev tailscale0 table 52
  ip -n "$ns" -6 route add "$3/128" dev tailscale0 table 52
  ip -n "$ns" route add 100.100.100.100/32 dev tailscale0 table 52
  ip -n "$ns" route add throw 127.0.0.0/8 table 52
}

start_server() {  # NS NAME ADDR...: tests/net/httpd.py on ADDR...:8080, waits for its ready line
  local ns=$1 name=$2
  shift 2
  ip netns exec "$ns" python3 -u "$_net_here/httpd.py" "$name" 8080 "$@" >"$t/srv-$name.log" 2>"$t/srv-$name.err" &
  track_pid $!
  wait_for 10 grep -q '"type": "ready"' "$t/srv-$name.log"
}

srv_requests() { grep '"type": "request"' "$t/srv-$1.log" || true; }

tailnet_up() {
  local ns
  for ns in "$NS_NODE" "$NS_PEER" "$NS_INET"; do
    ip netns add "$ns" 2>"$t/netns.err" || skip "cannot create a network namespace: $(cat "$t/netns.err")"
    _net_ns+=("$ns")
    ip -n "$ns" link set lo up
  done
  # Underlay for WireGuard (node ↔ peer) and the "internet" link (node ↔ inet); both ends are
  # created straight into the namespaces, so nothing appears in the host's namespace.
  ip -n "$NS_NODE" link add ul0 type veth peer name ul0 netns "$NS_PEER"
  ip -n "$NS_NODE" link add wan0 type veth peer name wan0 netns "$NS_INET"
  ip -n "$NS_NODE" addr add 10.101.0.1/30 dev ul0
  ip -n "$NS_PEER" addr add 10.101.0.2/30 dev ul0
  ip -n "$NS_NODE" addr add 198.18.0.1/24 dev wan0
  ip -n "$NS_INET" addr add "$INET4/24" dev wan0
  for ns in "$NS_NODE" "$NS_PEER"; do ip -n "$ns" link set ul0 up; done
  ip -n "$NS_NODE" link set wan0 up
  ip -n "$NS_INET" link set wan0 up

  wg_start "$NS_NODE"
  wg_start "$NS_PEER"
  (umask 077 && wg genkey >"$t/node.key" && wg genkey >"$t/peer.key")
  NODE_PUB=$(wg pubkey <"$t/node.key")
  PEER_PUB=$(wg pubkey <"$t/peer.key")
  # Both ends are configured before either link is up: otherwise the first handshake can wait for
  # WireGuard's 5 s retransmit (gotcha 3).
  wg_ns "$NS_NODE" set tailscale0 listen-port 41641 fwmark 0x80000 private-key "$t/node.key" \
    peer "$PEER_PUB" allowed-ips "$PEER4/32,$PEER6/128" endpoint 10.101.0.2:41641
  wg_ns "$NS_PEER" set tailscale0 listen-port 41641 fwmark 0x80000 private-key "$t/peer.key" \
    peer "$NODE_PUB" allowed-ips "$NODE4/32,$NODE6/128" endpoint 10.101.0.1:41641
  ip -n "$NS_NODE" addr add "$NODE4/32" dev tailscale0
  ip -n "$NS_NODE" -6 addr add "$NODE6/128" dev tailscale0 nodad
  ip -n "$NS_PEER" addr add "$PEER4/32" dev tailscale0
  ip -n "$NS_PEER" -6 addr add "$PEER6/128" dev tailscale0 nodad
  ip -n "$NS_PEER" link set tailscale0 mtu 1280 up
  ip -n "$NS_NODE" link set tailscale0 mtu 1280 up
  ts_routes "$NS_NODE" "$PEER4" "$PEER6"
  ts_routes "$NS_PEER" "$NODE4" "$NODE6"

  start_server "$NS_PEER" peer "$PEER4" "$PEER6"
  start_server "$NS_INET" inet "$INET4"
  # The tunnel carries a request before any test starts (a plain curl, no proxy).
  wait_for 20 in_ns "$NS_NODE" curl -sf --max-time 3 -o /dev/null "http://$PEER4:8080/"
  [ "$(srv_requests peer | tail -1 | jq -r .client)" = "$NODE4" ] ||
    fail "tailnet: the peer did not see the node's tailnet address: $(srv_requests peer)"
}

wg_bytes() {  # the node's counters for its one peer: "RX TX"
  wg_ns "$NS_NODE" show tailscale0 transfer | awk '{print $2, $3}'
}

wan_tx() { in_ns "$NS_NODE" cat /sys/class/net/wan0/statistics/tx_bytes; }

DAEMON_SOCK=$t/tailscaled.sock
DAEMON_CTL=$t/control.sock
_net_daemon_n=0

start_daemon() {
  local n=$_net_daemon_n line=""
  _net_daemon_n=$((n + 1))
  mkfifo "$t/daemon-ready$n"
  ip netns exec "$NS_NODE" "$TB_FAKES/fake_tailscaled" --socket "$DAEMON_SOCK" --control "$DAEMON_CTL" \
    --scenario "$_net_here/tailnet.json" --log "$t/daemon$n.log" "$@" >"$t/daemon-ready$n" 2>"$t/daemon$n.err" &
  FAKE_PID=$!
  track_pid "$FAKE_PID"
  read -r -t 10 line <"$t/daemon-ready$n" || fail "fake_tailscaled: no ready line within 10 s: $(cat "$t/daemon$n.err")"
  case $line in
    '{"type":"ready"'*) ;;
    *) fail "fake_tailscaled: unexpected first line: $line" ;;
  esac
  FAKE_SOCK=$DAEMON_SOCK FAKE_CTL=$DAEMON_CTL
  export FAKE_SOCK FAKE_CTL FAKE_PID
}

stop_daemon() {
  kill -TERM "$FAKE_PID"
  wait_exit "$FAKE_PID" 0 10 "fake_tailscaled after SIGTERM"
  [ ! -e "$DAEMON_SOCK" ] || fail "fake_tailscaled left its socket behind"
}

. "$_net_here/proxy-lib.sh"


wait_plan_after() {  # G [SECS]: until a direct request through the proxy runs on a plan newer than G
  local g=$1 end=$((SECONDS + ${2:-20}))
  while [ "$SECONDS" -lt "$end" ]; do
    get "http://$INET4:8080/" || fail "direct request failed while waiting for a new plan: $(cat "$t/curl.err")"
    [ "$(conn_field .generation)" -gt "$g" ] && return 0
    sleep 0.1
  done
  fail "no plan newer than generation $g within ${2:-20}s; proxy stderr: $(tail -5 "$PROXY_ERR")"
}
