#!/usr/bin/env bash
# Fault: tailscaled is killed (SIGKILL) under the pipeline `ts-status watch | sb-route plan |
# sb-relay`, then comes back on the same socket.
# Expected: no stage exits; sb-route plan writes a plan with the tailnet emptied (state
# daemon_unreachable, no peer addresses) and, once the daemon is back, one with the peers again;
# sb-relay keeps listening on the same port and serves direct traffic throughout; a connection to a
# peer's address goes to the tailscale endpoint while the tailnet is known, falls through to the
# final direct outbound while it is emptied, and goes to the endpoint again after the return.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
tailnet_config mixed-in 0 1s >"$t/config.json"
start_http 127.0.0.1
start_fake --generate-peers 3
sock=$FAKE_SOCK
start_pipeline "$t/config.json"
port=$RELAY_PORT
peer=$(head -1 "$t/plans" | jq -r '.tailnet.peer_ips[0]')
[ -n "$peer" ] && [ "$peer" != null ] || fail "the first plan has no peer: $(head -c 300 "$t/plans")"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"

n_conns=0
direct_ok() {
  n_conns=$((n_conns + 1))
  [ "$(curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$port" "http://127.0.0.1:$HTTP_PORT/hello.txt")" = "hello from tailbox" ] ||
    fail "direct traffic through the relay failed ($1)"
}
peer_goes_to() {  # peer_goes_to OUTBOUND: a connection to the peer's address is routed to OUTBOUND
  curl -s -o /dev/null --max-time 5 --proxy "socks5://127.0.0.1:$port" "http://$peer:80/" || true
  n_conns=$((n_conns + 1))
  wait_conns r "$n_conns"
  conn_records r | tail -1 | jq -e --arg o "$1" --arg ip "$peer" '.destination.host == $ip and .outbound == $o' >/dev/null ||
    fail "a connection to $peer should go to $1: $(conn_records r | tail -1)"
}
direct_ok "daemon up"
peer_goes_to ts-ep

kill -KILL "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
wait_for 15 sh -c "jq -e -s 'map(select(.tailnet.state == \"daemon_unreachable\" and .tailnet.peer_ips == [])) | length >= 1' '$t/plans' >/dev/null"
gen_down=$(jq -s 'map(select(.tailnet.state == "daemon_unreachable")) | .[0].generation' "$t/plans")
# The relay applies it: a new connection carries that generation.
has_gen() { direct_ok "daemon down"; wait_conns r "$n_conns"; conn_records r | tail -1 | jq -e --argjson g "$1" '.generation >= $g' >/dev/null; }
wait_for 10 has_gen "$gen_down"
peer_goes_to direct

_tb_fake_n=0; rm -f "$t/ready0.fifo"  # the same socket path again
start_fake --generate-peers 3
[ "$FAKE_SOCK" = "$sock" ] || fail "the new daemon is on another socket"
plan_back() { jq -e -s --argjson g "$gen_down" 'map(select(.generation > $g and .tailnet.state == "running" and (.tailnet.peer_ips | length) > 0)) | length >= 1' "$t/plans" >/dev/null; }
wait_for 15 plan_back
gen_up=$(jq -s --argjson g "$gen_down" 'map(select(.generation > $g and .tailnet.state == "running")) | .[0].generation' "$t/plans")
wait_for 10 has_gen "$gen_up"
peer_goes_to ts-ep
for p in "$WATCH_PID" "$PLAN_PID" "$TEE_PID" "$RELAY_PID"; do kill -0 "$p" 2>/dev/null || fail "a pipeline stage exited"; done
[ "$(grep -c '"type":"listening"' "$RELAY_OUT")" -ge 1 ] || fail "no listening record"
[ "$(grep '"type":"listening"' "$RELAY_OUT" | jq -r '.inbounds[0].port' | sort -u)" = "$port" ] || fail "the relay moved its port"
jq -e 'has("v") and .type == "plan"' "$t/plans" >/dev/null || fail "a plan line is not a complete record"
echo ok
