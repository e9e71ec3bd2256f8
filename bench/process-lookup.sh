#!/usr/bin/env bash
# Process lookup cost (bench/RESULTS.md, "Process lookup cost"): sb-relay connections per second and
# latency through tbload (bench/tbload.cpp) with no lookup, with route.find_process, and with a
# process_name rule that never matches; then the cost for a new process per connection (curl).
# Usage: bench/process-lookup.sh [BUILD_DIR]   (SECS, RUNS, CURLS, TBLOAD in the environment)
set -euo pipefail
B=${1:-build}
L=${TBLOAD:-$B/bench/tbload}
d=$(mktemp -d)
"$L" echo --listen 127.0.0.1:0 >"$d/echo.out" & echo_pid=$!
trap 'kill $echo_pid ${relays:-} 2>/dev/null; rm -rf "$d"' EXIT
for i in $(seq 50); do grep -q ready "$d/echo.out" && break; sleep 0.1; done
echo_port=$(awk '/ready/ {print $2}' "$d/echo.out")
relays=""
declare -A port
for mode in off find_process rule; do
  case $mode in
    off) route='{}' ;;
    find_process) route='{"find_process": true}' ;;
    rule) route='{"rules": [{"process_name": ["no-such-process"], "action": "reject"}]}' ;;
  esac
  jq -n --argjson r "$route" '{inbounds: [{type: "mixed", tag: "in", listen: "127.0.0.1", listen_port: 0}],
    outbounds: [{type: "direct", tag: "direct"}], route: ($r + {final: "direct"})}' >"$d/$mode.json"
  "$B/cmd/sb-relay/sb-relay" --events none --threads 2 -c "$d/$mode.json" >"$d/$mode.out" 2>"$d/$mode.err" &
  relays="$relays $!"
  for i in $(seq 50); do grep -q listening "$d/$mode.out" && break; sleep 0.1; done
  port[$mode]=$(head -1 "$d/$mode.out" | jq -r '.inbounds[0].port')
done
for run in $(seq ${RUNS:-3}); do
  for c in 1 16; do
    for mode in off find_process rule; do
      r=$("$L" conn --target 127.0.0.1:$echo_port --proxy socks5://127.0.0.1:${port[$mode]} --clients $c --secs ${SECS:-3})
      echo "run=$run clients=$c mode=$mode $r"
    done
  done
done
# A new process per connection: N sequential curls through each relay (the full /proc scan).
for run in $(seq ${RUNS:-3}); do
  for mode in off find_process rule; do
    s=$(date +%s.%N)
    for i in $(seq ${CURLS:-100}); do curl -s -o /dev/null --proxy socks5://127.0.0.1:${port[$mode]} http://127.0.0.1:$echo_port/ --max-time 2 || true; done
    e=$(date +%s.%N)
    echo "run=$run curl-loop mode=$mode n=${CURLS:-100} ms_per_conn=$(echo "($e - $s) * 1000 / ${CURLS:-100}" | bc -l | cut -c1-6)"
  done
done
