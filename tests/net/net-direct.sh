#!/usr/bin/env bash
# Direct traffic leaves by the other link, not the tunnel. With the same pipeline as a user runs
# (tailbox-proxy, embedded default config), a destination outside the tailnet (198.18.0.2, the
# "internet" namespace behind wan0) goes through the direct outbound: its server sees the node's
# wan0 address, the peer's server sees nothing, and the node's WireGuard counters stay where they
# were (give or take a 32-byte keepalive). A tailnet request in the same run does cross the tunnel,
# so the counters are known to be live.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

tailnet_up
start_daemon
start_proxy

read -r rx0 tx0 <<<"$(wg_bytes)"
wan0=$(wan_tx)
npeer=$(srv_requests peer | wc -l)
for i in 1 2 3; do
  get "http://$INET4:8080/" || fail "direct request $i: $(cat "$t/curl.err"); proxy: $(tail -5 "$PROXY_ERR")"
  [ "$BODY" = "inet saw 198.18.0.1" ] || fail "direct request $i: body '$BODY', want the wan0 address"
  [ "$(conn_field .outbound)" = direct ] || fail "direct request $i: outbound $(conn_field .outbound): $CONN"
  [ "$(conn_field .rule)" = null ] || fail "direct request $i: should fall through to final: $CONN"
  [ "$(conn_field .destination.ip)" = "$INET4" ] || fail "direct request $i: $CONN"
done
[ "$(srv_requests inet | wc -l)" = 3 ] || fail "the inet server logged $(srv_requests inet | wc -l) requests, want 3"
[ "$(srv_requests inet | jq -r .client | sort -u)" = 198.18.0.1 ] || fail "inet server clients: $(srv_requests inet)"
[ "$(srv_requests peer | wc -l)" = "$npeer" ] || fail "the peer saw direct traffic: $(srv_requests peer)"
read -r rx1 tx1 <<<"$(wg_bytes)"
# Three HTTP exchanges through the tunnel would be well over 1 KB each way; allow keepalives only.
[ $((rx1 - rx0)) -lt 100 ] && [ $((tx1 - tx0)) -lt 100 ] ||
  fail "direct traffic moved the WireGuard counters: rx $rx0→$rx1 tx $tx0→$tx1"
wan1=$(wan_tx)
[ $((wan1 - wan0)) -ge $((3 * 60)) ] || fail "wan0 sent only $((wan1 - wan0)) bytes for three direct requests"
echo "ok direct: inet saw 198.18.0.1 three times; wan0 tx +$((wan1 - wan0)); wg rx +$((rx1 - rx0)) tx +$((tx1 - tx0))"

# The same proxy sends tailnet traffic into the tunnel, so the counters above were live.
get "http://peer.$SUFFIX:8080/" || fail "tailnet request: $(cat "$t/curl.err")"
[ "$(conn_field .outbound)" = ts-ep ] || fail "tailnet request: $CONN"
read -r rx2 tx2 <<<"$(wg_bytes)"
[ $((tx2 - tx1)) -gt 100 ] && [ $((rx2 - rx1)) -gt 100 ] || fail "tailnet request: counters rx $rx1→$rx2 tx $tx1→$tx2"
[ "$(srv_requests inet | wc -l)" = 3 ] || fail "the tailnet request reached the inet server"
echo "ok tailnet: $BODY; wg rx +$((rx2 - rx1)) tx +$((tx2 - tx1))"

# With the daemon gone the proxy still serves direct traffic (README), and only that.
stop_daemon
g=$(generation)
wait_plan_after "$g"
[ "$BODY" = "inet saw 198.18.0.1" ] || fail "direct request without the daemon: '$BODY'"
! get "http://peer.$SUFFIX:8080/" || fail "peer.$SUFFIX still reachable by name without the daemon: $BODY"
[ "$(conn_field .outbound)" != ts-ep ] || fail "without the daemon the name still went to the endpoint: $CONN"
echo ok
