#!/usr/bin/env bash
# route.auto_detect_interface: every outbound socket is bound to the interface of the main table's
# default route (sing-box's route/network.go, sing-tun's monitor_linux_default.go), so it leaves by
# that link even when tailscaled, using an exit node, sends everything else into table 52: a
# socket bound to wan0 skips table 52's "default dev tailscale0" (another device) and falls
# through to the main table.
#   - The node has two links to the inet namespace, wan0 (198.18.0.1) and wan1 (198.19.0.1), and a
#     server there beyond both, 203.0.113.10 ("far"); the main table's default route is via wan0.
#   - Through sb-relay (auto_detect_interface, a direct outbound with no other field) the far
#     server sees 198.18.0.1 and the WireGuard counters stay put.
#   - The default route moves to wan1: sb-relay logs the new default interface within a second
#     (netlink, no restart) and the next connection leaves by wan1 (the server sees 198.19.0.1).
#   - DNS over HTTPS to a server at "far" follows too: its kept connection, bound to wan0, is not
#     used after the move; the next lookup's connection comes from 198.19.0.1.
#   - A main-table default route through tailscale0 itself, preferred by metric, is never chosen.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/node-relay-lib.sh"

FAR=203.0.113.10
tailnet_up
ip -n "$NS_NODE" link add wan1 type veth peer name wan1 netns "$NS_INET"
ip -n "$NS_NODE" addr add 198.19.0.1/24 dev wan1
ip -n "$NS_INET" addr add 198.19.0.2/24 dev wan1
ip -n "$NS_NODE" link set wan1 up
ip -n "$NS_INET" link set wan1 up
ip -n "$NS_INET" addr add "$FAR/32" dev lo
start_server "$NS_INET" far "$FAR"
# A DoH server on far, whose answers all say far.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$FAR" -addext "subjectAltName=IP:$FAR" \
  -keyout "$t/doh.key" -out "$t/doh.crt" 2>"$t/openssl.err" || fail "openssl: $(cat "$t/openssl.err")"
ip netns exec "$NS_INET" python3 -u "$TB_SRC/tests/cli/dns-responder.py" --marker "$FAR" --listen "$FAR" \
  --cert "$t/doh.crt" --key "$t/doh.key" >"$t/doh.log" 2>"$t/doh.err" &
track_pid $!
wait_for 10 grep -q '^ready' "$t/doh.log"
doh_port=$(sed -n 's/^ready.*https=\([0-9]*\).*/\1/p' "$t/doh.log")
doh_from() { grep -c "^https connection from $1\$" "$t/doh.log" || true; }
cat >"$t/config.json" <<JSON
{
  "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "direct", "connect_timeout": "2s"}],
  "route": {"auto_detect_interface": true, "default_domain_resolver": "doh"},
  "dns": {"servers": [{"type": "https", "tag": "doh", "server": "$FAR", "server_port": $doh_port,
                       "tls": {"enabled": true, "certificate_path": "$t/doh.crt"}}]}
}
JSON
"$(tool sb-route)" check -c "$t/config.json" >/dev/null || fail "the test's config does not pass sb-route check"
ip -n "$NS_NODE" route add default via 198.18.0.2 dev wan0
# The exit node, as tailscaled configures it (see net-mark.sh).
ip -n "$NS_NODE" route add default dev tailscale0 table 52
wg_ns "$NS_NODE" set tailscale0 peer "$PEER_PUB" allowed-ips "$PEER4/32,$PEER6/128,0.0.0.0/0,::/0"
watch_tun
# The watch sees what an unprotected socket sends: the control for every "nothing leaked" below.
! in_ns "$NS_NODE" curl -s --max-time 1 -o /dev/null "http://$FAR:8080/" || fail "an unprotected curl reached $FAR"
wait_for 5 test "$(tun_leaks "$FAR")" -gt 0
[[ $(in_ns "$NS_NODE" ip route get "$FAR") == *"dev tailscale0 table 52"* ]] ||
  fail "unbound route to $FAR is not the tunnel: $(in_ns "$NS_NODE" ip route get "$FAR")"

node_relay -c "$t/config.json"
# The monitor starts with the first dial: its first log line names wan0.
p0=$(tun_leaks "$FAR")
get "http://$FAR:8080/" || fail "via wan0: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "far saw 198.18.0.1" ] || fail "via wan0: '$BODY' $CONN"
grep -q "auto_detect_interface: default interface wan0 " "$RELAY_ERR" || fail "no log of wan0: $(cat "$RELAY_ERR")"
p1=$(tun_leaks "$FAR")
[ "$p1" = "$p0" ] || fail "the request entered the tunnel: packets to $FAR into tailscale0 $p0→$p1"
echo "ok wan0: far saw 198.18.0.1; nothing into tailscale0"
get "http://a.far.test:8080/" || fail "a.far.test via wan0: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "far saw 198.18.0.1" ] || fail "a.far.test via wan0: '$BODY' $CONN"
[ "$(doh_from 198.18.0.1)" -ge 1 ] || fail "no DoH connection from wan0's 198.18.0.1: $(cat "$t/doh.log")"
echo "ok wan0: a name resolved over DoH through wan0 ($(doh_from 198.18.0.1) connection(s) kept)"

# The default route moves to wan1: followed within a second, without a restart.
n=$(wc -l <"$RELAY_ERR")
t0=$(date +%s%N)
ip -n "$NS_NODE" route replace default via 198.19.0.2 dev wan1
relay_log_after "$n" "auto_detect_interface: default interface wan1 " 1000 ||
  fail "no switch to wan1 logged within 1 s of the route change: $(tail -n "+$((n + 1))" "$RELAY_ERR")"
took=$((($(date +%s%N) - t0) / 1000000))
get "http://$FAR:8080/" || fail "via wan1: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "far saw 198.19.0.1" ] || fail "via wan1: '$BODY' $CONN"
[ "$(conn_field .error)" = null ] || [ "$(conn_field .error)" = "" ] || fail "via wan1: $CONN"
echo "ok wan1 after the route change: far saw 198.19.0.1; switch logged after $took ms"
get "http://b.far.test:8080/" || fail "b.far.test via wan1: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "far saw 198.19.0.1" ] || fail "b.far.test via wan1: '$BODY' $CONN"
[ "$(doh_from 198.19.0.1)" -ge 1 ] ||
  fail "the lookup after the move did not open a DoH connection from wan1's 198.19.0.1 (a kept wan0 one was used?): $(cat "$t/doh.log")"
echo "ok wan1: the next DoH lookup left the kept wan0 connections and connected from 198.19.0.1"

# A default route through tailscale0 in the main table (a loop) is skipped, whatever its metric.
n=$(wc -l <"$RELAY_ERR")
ip -n "$NS_NODE" route add default dev tailscale0 metric 1
ip -n "$NS_NODE" route add default via 198.19.0.2 dev wan1 metric 50
ip -n "$NS_NODE" route del default via 198.19.0.2 dev wan1 metric 0
[[ $(ip -n "$NS_NODE" route show default) == "default dev tailscale0 "*"metric 1"* ]] ||
  fail "the main table's best default route is not tailscale0: $(ip -n "$NS_NODE" route show default)"
get "http://$FAR:8080/" || fail "tailscale0 in main: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "far saw 198.19.0.1" ] || fail "tailscale0 in main: '$BODY' $CONN"
! tail -n "+$((n + 1))" "$RELAY_ERR" | grep -q "default interface tailscale0" || fail "tailscale0 was chosen: $(cat "$RELAY_ERR")"
ip -n "$NS_NODE" route del default dev tailscale0 metric 1
echo "ok a main-table default route through tailscale0 (metric 1) is passed over for wan1 (metric 50)"

# No default route at all: the dial fails with the reason, it does not leave unbound.
n=$(wc -l <"$RELAY_ERR")
ip -n "$NS_NODE" route flush exact 0.0.0.0/0 table main
relay_log_after "$n" "auto_detect_interface: no default route" 1000 || fail "no log of the missing route: $(cat "$RELAY_ERR")"
p0=$(tun_leaks "$FAR")
! get "http://$FAR:8080/" || fail "no default route: the request went through: '$BODY'"
[[ $(conn_field .error) == "route.auto_detect_interface: no default route in the main table" ]] || fail "no default route: $CONN"
p1=$(tun_leaks "$FAR")
[ "$p1" = "$p0" ] || fail "no default route: the dial leaked into the tunnel: packets to $FAR into tailscale0 $p0→$p1"
echo "ok no default route: $(conn_field .error)"
