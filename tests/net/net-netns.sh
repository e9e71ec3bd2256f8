#!/usr/bin/env bash
# netns, as sing-box does it (common/listener/listener.go, ListenNetworkNamespace): the socket is
# created inside the named network namespace (a name under /var/run/netns, or a path).
#   - A fourth namespace, alt, has a link to the inet namespace (198.20.0.1 ↔ 198.20.0.2) and a
#     server there on 198.20.0.2 ("alt"); the node namespace, where sb-relay runs, has no route to
#     it at all. A direct outbound with "netns": ALT reaches it, and the server sees 198.20.0.1.
#   - The same by path (/var/run/netns/ALT).
#   - A namespace that does not exist fails that dial with the reason in the conn record.
#   - An inbound with "netns": ALT listens inside alt: a client there reaches the relay on
#     127.0.0.1, which no client of the node namespace can.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/node-relay-lib.sh"

NS_ALT=tbnet$$-alt
cat >"$t/config.json" <<JSON
{
  "inbounds": [
    {"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 1080},
    {"type": "mixed", "tag": "by-path", "listen": "127.0.0.1", "listen_port": 1081},
    {"type": "mixed", "tag": "missing", "listen": "127.0.0.1", "listen_port": 1082},
    {"type": "mixed", "tag": "alt-in", "listen": "127.0.0.1", "listen_port": 1083, "netns": "$NS_ALT"}
  ],
  "outbounds": [
    {"type": "direct", "tag": "alt", "netns": "$NS_ALT", "connect_timeout": "2s"},
    {"type": "direct", "tag": "alt-path", "netns": "/var/run/netns/$NS_ALT", "connect_timeout": "2s"},
    {"type": "direct", "tag": "nowhere", "netns": "tbnet$$-missing", "connect_timeout": "2s"}
  ],
  "route": {
    "rules": [
      {"inbound": ["by-path"], "outbound": "alt-path"},
      {"inbound": ["missing"], "outbound": "nowhere"}
    ],
    "final": "alt"
  }
}
JSON
"$(tool sb-route)" check -c "$t/config.json" >/dev/null || fail "the test's config does not pass sb-route check"

tailnet_up
ip netns add "$NS_ALT" || fail "cannot create $NS_ALT"
_net_ns+=("$NS_ALT")
ip -n "$NS_ALT" link set lo up
ip -n "$NS_ALT" link add alt0 type veth peer name alt0 netns "$NS_INET"
ip -n "$NS_ALT" addr add 198.20.0.1/24 dev alt0
ip -n "$NS_INET" addr add 198.20.0.2/24 dev alt0
ip -n "$NS_ALT" link set alt0 up
ip -n "$NS_INET" link set alt0 up
start_server "$NS_INET" alt 198.20.0.2
! in_ns "$NS_NODE" curl -s --max-time 2 -o /dev/null "http://198.20.0.2:8080/" || fail "the node namespace reaches 198.20.0.2 by itself"

node_relay -c "$t/config.json"
get "http://198.20.0.2:8080/" || fail "netns by name: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "alt saw 198.20.0.1" ] && [ "$(conn_field .outbound)" = alt ] || fail "netns by name: '$BODY' $CONN"
echo "ok netns by name: alt saw 198.20.0.1"

get "http://198.20.0.2:8080/" 1081 || fail "netns by path: $(cat "$t/curl.err")"
[ "$BODY" = "alt saw 198.20.0.1" ] && [ "$(conn_field .outbound)" = alt-path ] || fail "netns by path: '$BODY' $CONN"
echo "ok netns by path: alt saw 198.20.0.1"

! get "http://198.20.0.2:8080/" 1082 || fail "missing netns: the request went through: '$BODY'"
[[ $(conn_field .error) == "netns tbnet$$-missing: No such file or directory" ]] || fail "missing netns: $CONN"
echo "ok missing netns: $(conn_field .error)"

# The inbound inside alt: reachable from alt's loopback, not from the node's.
in_ns "$NS_ALT" curl -sS --max-time 5 -o "$t/body" --proxy socks5h://127.0.0.1:1083 "http://198.20.0.2:8080/" 2>"$t/curl.err" ||
  fail "listen netns: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$(cat "$t/body")" = "alt saw 198.20.0.1" ] || fail "listen netns: '$(cat "$t/body")'"
! in_ns "$NS_NODE" curl -s --max-time 2 -o /dev/null --proxy socks5h://127.0.0.1:1083 "http://198.20.0.2:8080/" ||
  fail "listen netns: the inbound is reachable from the node namespace"
echo "ok listen netns: the inbound listens inside $NS_ALT"
