#!/usr/bin/env bash
# Socket protection against an exit node. tailscaled, using an exit node, puts a default route into
# table 52 (rule 5270 sends everything there) and exempts sockets marked 0x80000 (rule 5210 → main).
# Here the node's table 52 gets "default dev tailscale0" and the peer becomes the exit node in
# WireGuard (allowed-ips 0.0.0.0/0, ::/0); the peer has no route to the internet namespace, so
# whatever enters the tunnel towards 198.18.0.2 is lost there.
#   - A direct outbound with routing_mark "0x80000" (inbound mark-in, port 1081) still reaches
#     198.18.0.2 over wan0: the server sees 198.18.0.1 and the WireGuard counters stay put.
#   - The same request through an unmarked direct outbound (port 1080) goes into the tunnel: it
#     fails (connect timeout), the WireGuard tx counter grows and the server sees nothing.
#   - The tailnet itself keeps working through the endpoint (wireguard-go's own socket is marked).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

mark_config 2s >"$t/config.json"
"$(tool sb-route)" check -c "$t/config.json" >/dev/null || fail "the test's config does not pass sb-route check"

tailnet_up
start_daemon
start_proxy -c "$t/config.json"

# Before the exit-node route both outbounds reach the inet server directly.
get "http://$INET4:8080/" 1080 || fail "unmarked, no exit node: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.18.0.1" ] && [ "$(conn_field .outbound)" = direct ] || fail "unmarked, no exit node: '$BODY' $CONN"
get "http://$INET4:8080/" 1081 || fail "marked, no exit node: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.18.0.1" ] && [ "$(conn_field .outbound)" = protected ] || fail "marked, no exit node: '$BODY' $CONN"

# The exit node, as tailscaled configures it.
ip -n "$NS_NODE" route add default dev tailscale0 table 52
ip -n "$NS_NODE" -6 route add default dev tailscale0 table 52
wg_ns "$NS_NODE" set tailscale0 peer "$PEER_PUB" allowed-ips "$PEER4/32,$PEER6/128,0.0.0.0/0,::/0"
[[ $(in_ns "$NS_NODE" ip route get "$INET4") == *"dev tailscale0 table 52"* ]] ||
  fail "unmarked route to $INET4 is not the tunnel: $(in_ns "$NS_NODE" ip route get "$INET4")"
[[ $(in_ns "$NS_NODE" ip route get "$INET4" mark 0x80000) == *"dev wan0"* ]] ||
  fail "marked route to $INET4 is not wan0: $(in_ns "$NS_NODE" ip route get "$INET4" mark 0x80000)"

# Marked: bypasses table 52.
ninet=$(srv_requests inet | wc -l)
read -r rx0 tx0 <<<"$(wg_bytes)"
wan0=$(wan_tx)
get "http://$INET4:8080/" 1081 || fail "marked with an exit node: $(cat "$t/curl.err"); proxy: $(tail -5 "$PROXY_ERR")"
[ "$BODY" = "inet saw 198.18.0.1" ] || fail "marked with an exit node: body '$BODY'"
[ "$(conn_field .outbound)" = protected ] || fail "marked with an exit node: $CONN"
read -r rx1 tx1 <<<"$(wg_bytes)"
[ $((rx1 - rx0)) -lt 100 ] && [ $((tx1 - tx0)) -lt 100 ] ||
  fail "the marked request moved the WireGuard counters: rx $rx0→$rx1 tx $tx0→$tx1"
[ "$(srv_requests inet | wc -l)" = $((ninet + 1)) ] || fail "inet server: $(srv_requests inet)"
wan1=$(wan_tx)
[ $((wan1 - wan0)) -ge "$(conn_field .bytes_up)" ] || fail "the marked request did not leave by wan0 (tx +$((wan1 - wan0)))"
echo "ok marked 0x80000: inet saw 198.18.0.1; wan0 tx +$((wan1 - wan0)); wg rx +$((rx1 - rx0)) tx +$((tx1 - tx0))"

# Unmarked: captured by the exit-node route, into the tunnel, lost at the peer.
! get "http://$INET4:8080/" 1080 || fail "unmarked with an exit node reached the server directly: '$BODY'"
[ "$(conn_field .outbound)" = direct ] || fail "unmarked with an exit node: $CONN"
[[ $(conn_field .error) =~ timed\ out|timeout ]] || fail "unmarked with an exit node: expected a connect timeout: $CONN"
read -r rx2 tx2 <<<"$(wg_bytes)"
[ $((tx2 - tx1)) -ge 60 ] || fail "the unmarked SYNs did not enter the tunnel: tx $tx1→$tx2"
[ "$(srv_requests inet | wc -l)" = $((ninet + 1)) ] || fail "the unmarked request reached the inet server: $(srv_requests inet)"
echo "ok unmarked: $(conn_field .error); wg tx +$((tx2 - tx1))"

# The tunnel itself still works under the default route (wireguard-go marks its UDP socket).
get "http://peer.$SUFFIX:8080/" 1080 || fail "tailnet with an exit node: $(cat "$t/curl.err")"
[[ $BODY =~ ^peer\ saw\ ($NODE4|$NODE6)$ ]] && [ "$(conn_field .outbound)" = ts-ep ] ||
  fail "tailnet with an exit node: '$BODY' $CONN"
echo ok
