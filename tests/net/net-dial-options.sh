#!/usr/bin/env bash
# Dial and listen fields seen from the other end (the socket-level ones are read back from real
# sockets in tests/unit/net/protect_test.cpp):
#   - inet4_bind_address / inet6_bind_address: the node's wan0 has a second address of each family;
#     a direct outbound bound to it is seen by the inet server with that address.
#   - listen.routing_mark: with tailscaled's exit-node route in table 52, an inbound on the node's
#     wan0 address answers a client in the inet namespace only when its listening socket carries
#     routing_mark 0x80000 (its SYN-ACK and the accepted connection take the mark past table 52);
#     the same inbound without the mark answers into the tunnel and the client times out.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/node-relay-lib.sh"

NODE6=2001:db8:18::1 INET6=2001:db8:18::2
cat >"$t/config.json" <<JSON
{
  "inbounds": [
    {"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 1080},
    {"type": "mixed", "tag": "wan-marked", "listen": "198.18.0.1", "listen_port": 1090, "routing_mark": "0x80000",
     "users": [{"username": "u", "password": "p"}]},
    {"type": "mixed", "tag": "wan-plain", "listen": "198.18.0.1", "listen_port": 1091,
     "users": [{"username": "u", "password": "p"}]}
  ],
  "outbounds": [
    {"type": "direct", "tag": "bound", "inet4_bind_address": "198.18.0.5", "inet6_bind_address": "2001:db8:18::5",
     "routing_mark": "0x80000", "connect_timeout": "2s"}
  ]
}
JSON
"$(tool sb-route)" check -c "$t/config.json" >/dev/null || fail "the test's config does not pass sb-route check"

tailnet_up
ip -n "$NS_NODE" addr add 198.18.0.5/24 dev wan0
ip -n "$NS_NODE" -6 addr add "$NODE6/64" dev wan0 nodad
ip -n "$NS_NODE" -6 addr add 2001:db8:18::5/64 dev wan0 nodad
ip -n "$NS_INET" -6 addr add "$INET6/64" dev wan0 nodad
start_server "$NS_INET" inet6 "$INET6"

node_relay -c "$t/config.json"
get "http://$INET4:8080/" || fail "inet4_bind_address: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "inet saw 198.18.0.5" ] || fail "inet4_bind_address: '$BODY' $CONN"
get "http://[$INET6]:8080/" || fail "inet6_bind_address: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "inet6 saw 2001:db8:18::5" ] || fail "inet6_bind_address: '$BODY' $CONN"
echo "ok inet4_bind_address 198.18.0.5 and inet6_bind_address 2001:db8:18::5 are what the server sees"

# The exit node, as tailscaled configures it (see net-mark.sh): unmarked replies enter the tunnel.
ip -n "$NS_NODE" route add default dev tailscale0 table 52
wg_ns "$NS_NODE" set tailscale0 peer "$PEER_PUB" allowed-ips "$PEER4/32,$PEER6/128,0.0.0.0/0,::/0"
in_ns "$NS_INET" curl -sS --max-time 5 -o "$t/body" --proxy socks5h://u:p@198.18.0.1:1090 "http://$INET4:8080/" 2>"$t/curl.err" ||
  fail "listen routing_mark: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$(cat "$t/body")" = "inet saw 198.18.0.5" ] || fail "listen routing_mark: '$(cat "$t/body")'"
! in_ns "$NS_INET" curl -sS --max-time 2 -o /dev/null --proxy socks5h://u:p@198.18.0.1:1091 "http://$INET4:8080/" 2>/dev/null ||
  fail "an unmarked inbound answered past the exit node's route: the mark proves nothing"
echo "ok listen routing_mark 0x80000: the inbound on wan0 answers past table 52; without it, no answer"
