#!/usr/bin/env bash
# Plans follow the tailnet, and connections follow the plans, in one tailbox-proxy run:
#   1. the peer goes offline, then online: each change brings a new plan (a higher generation in
#      sb-relay's conn records); the peer stays routed to the tailscale endpoint;
#   2. the peer is removed (and, as tailscaled would, its table 52 routes go): its name no longer
#      resolves and its address is no longer the endpoint's; it comes back: both work again;
#   3. fake_tailscaled is stopped and started again on the same socket: the pipeline drops the
#      tailnet while the daemon is away and picks it up again, with no stage of tailbox-proxy
#      restarted;
#   4. SIGTERM to tailbox-proxy stops it and every stage (none lingers on its input pipe).
# Meanwhile connections opened before each change (a held HTTP response from the peer) keep
# running on the plan they started with and finish once released.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

tailnet_up
start_daemon
start_proxy

must_reach_peer() {  # STEP
  get "http://peer.$SUFFIX:8080/" || fail "$1: peer.$SUFFIX: $(cat "$t/curl.err"); proxy: $(tail -5 "$PROXY_ERR")"
  [[ $BODY =~ ^peer\ saw\ ($NODE4|$NODE6)$ ]] || fail "$1: body '$BODY'"
  [ "$(conn_field .outbound)" = ts-ep ] || fail "$1: $CONN"
}

hold_open() {  # N: a response from the peer held open until release_hold N
  in_ns "$NS_NODE" curl -sS -N --max-time 90 --proxy socks5h://127.0.0.1:1080 \
    "http://peer.$SUFFIX:8080/hold?file=$t/release$1" >"$t/hold$1.out" 2>"$t/hold$1.err" &
  eval "HOLD_PID$1=\$!"
  track_pid $!
  wait_for 10 grep -q "holding for" "$t/hold$1.out"
  eval "HOLD_GEN$1=$g"  # the plan the proxy runs now (nothing changed since the last request)
}

release_hold() {  # N: release it; it must finish cleanly on the plan it started with
  local pid gen n rec
  eval "pid=\$HOLD_PID$1 gen=\$HOLD_GEN$1"
  n=$(conn_count)
  touch "$t/release$1"
  wait_exit "$pid" 0 15 "held connection $1 (curl), after its release" "$t/hold$1.err"
  grep -q "peer released" "$t/hold$1.out" || fail "held connection $1: $(cat "$t/hold$1.out")"
  wait_for 10 conn_count_above "$n"
  rec=$(grep '"type":"conn"' "$PROXY_OUT" | sed -n "$((n + 1))p")
  printf '%s\n' "$rec" | jq -e --argjson g "$gen" '.outbound == "ts-ep" and .error == null and .generation == $g' >/dev/null ||
    fail "held connection $1: conn record $rec (opened under generation $gen)"
  echo "ok held connection $1 finished on its plan: $(printf '%s\n' "$rec" | jq -c '{generation, duration_ms, bytes_down}')"
}

must_reach_peer start
g=$(conn_field .generation)
hold_open 1

# 1. offline, online
fake_ctl "/peer?name=peer&online=false" >/dev/null
wait_plan_after "$g"
g=$(conn_field .generation)
must_reach_peer offline
echo "ok peer offline: plan $g"
fake_ctl "/peer?name=peer&online=true" >/dev/null
wait_plan_after "$g"
g=$(conn_field .generation)
must_reach_peer online
echo "ok peer online again: plan $g"

# 2. removed, added back
hold_open 2
fake_ctl "/peer/remove?name=peer" >/dev/null
ip -n "$NS_NODE" route del "$PEER4/32" table 52
ip -n "$NS_NODE" -6 route del "$PEER6/128" table 52
wait_plan_after "$g"
g=$(conn_field .generation)
! get "http://peer.$SUFFIX:8080/" || fail "removed peer still reachable by name: $BODY"
[ "$(conn_field .error)" != null ] || fail "removed peer by name: $CONN"
! get "http://$PEER4:8080/" || fail "removed peer still reachable by address: $BODY"
[ "$(conn_field .outbound)" = direct ] || fail "the removed peer's address should no longer be the endpoint's: $CONN"
echo "ok peer removed: plan $g; by address: $(conn_field .error)"
fake_ctl /action -H 'Content-Type: application/json' --data-binary @- >/dev/null <<JSON
{"add_peer": {"name": "peer", "os": "linux", "online": true,
  "PublicKey": "nodekey:2222222222222222222222222222222222222222222222222222222222222222",
  "TailscaleIPs": ["$PEER4", "$PEER6"], "AllowedIPs": ["$PEER4/32", "$PEER6/128"]}}
JSON
ip -n "$NS_NODE" route add "$PEER4/32" dev tailscale0 table 52
ip -n "$NS_NODE" -6 route add "$PEER6/128" dev tailscale0 table 52
wait_plan_after "$g"
g=$(conn_field .generation)
must_reach_peer "added back"
get "http://$PEER4:8080/" && [ "$(conn_field .outbound)" = ts-ep ] || fail "added back, by address: '$BODY' $CONN"
echo "ok peer added back: plan $g"
release_hold 1
release_hold 2

# 3. the daemon restarts while a connection is open
hold_open 3
stop_daemon
wait_plan_after "$g"
g=$(conn_field .generation)
! get "http://peer.$SUFFIX:8080/" || fail "peer.$SUFFIX reachable by name while the daemon is away: $BODY"
[ "$(conn_field .outbound)" != ts-ep ] || fail "daemon away: the name still goes to the endpoint: $CONN"
echo "ok daemon away: plan $g"
start_daemon
wait_plan_after "$g"
g=$(conn_field .generation)
must_reach_peer "daemon back"
echo "ok daemon back: plan $g"
release_hold 3

kill -0 "$PROXY_PID" || fail "tailbox-proxy died"
! grep -q "exited with status" "$PROXY_ERR" || fail "a pipeline stage was restarted: $(grep "exited with status" "$PROXY_ERR")"
# And a stop stops all of it: no stage lingers on its input pipe.
stop_proxy
echo ok
