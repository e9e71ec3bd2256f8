# shellcheck shell=bash disable=SC2154,SC2034  # $t, NS_NODE come from tests/net/lib.sh
# Sourced by tests/net/net-auto-detect-interface.sh, net-netns.sh and net-protect-udp-dns.sh after
# lib.sh: sb-relay by itself in the node namespace (-c CONFIG, no daemon), with its info log.
#   node_relay ARGS...   sb-relay --log-level info --threads 1 --events close ARGS in $NS_NODE; stdout
#                        is $PROXY_OUT (so proxy-lib.sh's get and conn_field read its records),
#                        stderr $RELAY_ERR; waits for the listening record
#   watch_tun            start tests/net/tun-watch.py on the node's tailscale0 ($t/tun.log)
#   tun_leaks DST        how many packets to DST it has seen enter the tunnel
#   relay_log_after N REGEX MS
#                        wait up to MS milliseconds for a line matching REGEX after the first N lines
#                        of $RELAY_ERR
RELAY_ERR=$t/relay.err

node_relay() {
  : >"$PROXY_OUT"
  ip netns exec "$NS_NODE" "$(tool sb-relay)" --log-level info --threads 1 --events close "$@" \
    >"$PROXY_OUT" 2>"$RELAY_ERR" &
  RELAY_PID=$!
  track_pid "$RELAY_PID"
  wait_listening "$RELAY_PID" sb-relay "$RELAY_ERR" 10
}

relay_log_after() {  # N REGEX MS
  local end=$(($(date +%s%N) / 1000000 + $3))
  while [ $(($(date +%s%N) / 1000000)) -lt "$end" ]; do
    tail -n "+$(($1 + 1))" "$RELAY_ERR" | grep -qE "$2" && return 0
    sleep 0.02
  done
  return 1
}

# What enters the tunnel: tests/net/tun-watch.py on the node's tailscale0 logs every packet sent
# there; tun_leaks DST counts those to DST (the kernel's own IPv6 chatter on the TUN is not counted).
watch_tun() {
  ip netns exec "$NS_NODE" python3 -u "$_net_here/tun-watch.py" tailscale0 >"$t/tun.log" 2>"$t/tun.err" &
  track_pid $!
  wait_for 10 grep -q '"type": "ready"' "$t/tun.log"
}
tun_leaks() { grep '"type": "packet"' "$t/tun.log" | jq -s --arg d "$1" '[.[] | select(.dst == $d)] | length'; }
