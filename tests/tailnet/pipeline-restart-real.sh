#!/usr/bin/env bash
# The real tailscaled restarts under the pipeline (scripts/tailbox-proxy: ts-status watch |
# sb-route plan | sb-relay in the node's namespace), with 50 long-lived direct connections open
# through the proxy to the lab's internet server (198.18.0.10, by the node's wan0):
#   - none of the 50 is cut: released after the restart, every curl ends cleanly with "released"
#     and sb-relay logs 50 conn records on the direct outbound without an error;
#   - the tailnet comes back: peer.<suffix>:8080 answers through ts-ep within 10 s of the node's
#     BackendState being Running again (the lag is ts-status's bus reconnect backoff, 250 ms
#     doubling to 5 s: 0.5-2 s here. Until then the plan has no tailnet and the peer's name goes to
#     the direct outbound, which the kernel's table 52 still routes into tailscale0: each such
#     answer is reported as "peer answered, but not through ts-ep" and not counted);
#   - no stage restarted: no "restarting" line from tailbox-proxy, and ts-status, sb-route and
#     sb-relay in the node's namespace have the same PIDs before and after.
. "$(dirname "$0")/lib.sh"
tool sb-route >/dev/null
tool sb-relay >/dev/null

HOLDS=50

tailnet_config plain-in 1080 3s >"$t/config.json"

# stage_pids: "NAME PID" of every pipeline stage in the node's namespace, sorted.
stage_pids() {
  local p
  for p in $(ip netns pids "$NODE_NS"); do ps -o comm=,pid= -p "$p" 2>/dev/null || true; done |
    awk '$1 == "ts-status" || $1 == "sb-route" || $1 == "sb-relay" { print $1, $2 }' | sort
}

# try_peer: one request to peer.<suffix>:8080 through the proxy (3 s at most); true when the peer
# answered through the tailscale endpoint.
try_peer() {
  local n body rec i
  n=$(conn_count)
  body=$(in_node curl -sS --max-time 3 --proxy socks5h://127.0.0.1:1080 "http://peer.$SUFFIX:8080/" 2>"$t/peer.err") || return 1
  [[ $body =~ ^peer\ saw\ 100\.64\. ]] || return 1
  for ((i = 0; i < 40; i++)); do  # its conn record follows the last byte by a moment
    if [ "$(conn_count)" -gt "$n" ]; then
      rec=$(grep '"type":"conn"' "$PROXY_OUT" | sed -n "$((n + 1))p")
      [ "$(jq -r .outbound <<<"$rec")" = ts-ep ] || { echo "peer answered, but not through ts-ep: $rec" >&2; return 1; }
      return 0
    fi
    sleep 0.05
  done
  return 1
}

holding() { [ "$(grep -l "holding for" "$t"/hold*.out 2>/dev/null | wc -l)" -eq "$HOLDS" ]; }

lab_up
node_login
start_proxy -c "$t/config.json"
wait_for 15 try_peer  # the plan with the tailnet in it is in force
echo "ok: the peer answers through ts-ep before the restart"

# 50 long-lived connections through the proxy to the internet server, by the node's wan0.
for ((i = 1; i <= HOLDS; i++)); do
  in_node curl -sS -N --max-time 80 --proxy socks5h://127.0.0.1:1080 \
    "http://198.18.0.10/hold?file=$t/release" >"$t/hold$i.out" 2>"$t/hold$i.err" &
  hold_pids[i]=$!
  track_pid $!
done
wait_for 20 holding
n_before=$(conn_count)
held=$(grep -c '"path": "/hold"' "$LAB_DIR/logs/httpd-inet.log" || true)
[ "$held" -eq "$HOLDS" ] || fail "the internet server saw $held /hold requests, not $HOLDS"
grep -q "holding for 198.18.1.2" "$t/hold1.out" || fail "a held connection did not leave by wan0: $(cat "$t/hold1.out")"
pids_before=$(stage_pids)
[ "$(wc -l <<<"$pids_before")" -eq 3 ] || fail "expected the three stages in $NODE_NS: $pids_before"
echo "ok: $HOLDS connections held open; stages: $(tr '\n' ' ' <<<"$pids_before")"

# The daemon restarts.
lab stop node
lab start node
wait_for 20 state_is node Running
running_at=$(date +%s.%N)
deadline=$((SECONDS + 10))
until try_peer; do
  [ "$SECONDS" -lt "$deadline" ] ||
    fail "the peer is not reachable through ts-ep 10 s after Running: $(cat "$t/peer.err"); proxy: $(tail -5 "$PROXY_ERR")"
  sleep 0.2
done
back=$(awk -v a="$running_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "ok: peer.$SUFFIX answers through ts-ep ${back}s after the node is Running again"

# Every held connection is still there: release them all.
touch "$t/release"
for ((i = 1; i <= HOLDS; i++)); do
  wait_exit "${hold_pids[i]}" 0 30 "held connection $i (curl), released" "$t/hold$i.err"
  grep -q "^inet released$" "$t/hold$i.out" || fail "held connection $i was cut: $(cat "$t/hold$i.out")"
done
wait_for 10 conn_count_above $((n_before + HOLDS - 1))  # at least the held ones
held_recs=$(grep '"type":"conn"' "$PROXY_OUT" | tail -n +"$((n_before + 1))" | jq -c 'select(.destination.host == "198.18.0.10")')
clean=$(jq -c 'select(.outbound == "direct" and .error == null)' <<<"$held_recs" | wc -l)
[ "$clean" -eq "$HOLDS" ] || fail "$clean clean direct conn records for the $HOLDS held connections: $(jq -c 'select(.outbound != "direct" or .error != null)' <<<"$held_recs" | head -3)"
echo "ok: all $HOLDS held connections finished with \"released\" after the restart"

# No stage restarted.
kill -0 "$PROXY_PID" || fail "tailbox-proxy died: $(cat "$PROXY_ERR")"
! grep -q "restarting" "$PROXY_ERR" || fail "a pipeline stage was restarted: $(grep "restarting" "$PROXY_ERR")"
pids_after=$(stage_pids)
[ "$pids_after" = "$pids_before" ] || fail "stage PIDs changed: before: $pids_before; after: $pids_after"
echo "ok: no stage restarted ($(tr '\n' ' ' <<<"$pids_after"))"
stop_proxy
echo ok
