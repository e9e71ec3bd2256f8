# shellcheck shell=bash disable=SC2154,SC2034  # $t, NS_NODE, DAEMON_SOCK come from the sourcing library
# Sourced by tests/net/lib.sh and tests/tailnet/lib.sh (after tests/cli/lib.sh): the proxy pipeline
# (scripts/tailbox-proxy) in the node's network namespace, and curl through it. The sourcing
# library sets NS_NODE (the namespace) and DAEMON_SOCK (the tailscaled socket) first.
#
#   start_proxy [ARGS...]       scripts/tailbox-proxy --bin --socket ARGS in $NS_NODE, its stdout a
#                               socket (as under systemd) copied to $PROXY_OUT; waits for sb-relay's
#                               listening record
#   stop_proxy                  SIGTERM to tailbox-proxy; fail unless it and every stage exit (≤ 15 s)
#   wait_listening PID WHAT ERRFILE SECS
#                               until $PROXY_OUT has a listening record (fails when PID exits first)
#   get URL [PORT [SCHEME]]     curl URL through the proxy (SCHEME://127.0.0.1:PORT, default socks5h, 1080)
#                               from $NS_NODE; returns curl's status; body in $BODY, the connection's
#                               conn record (waited for) in $CONN
#   conn_field JQ               a field of $CONN
#   generation                  generation of the newest conn record
#   in_ns NS CMD...             run CMD in network namespace NS
#   mark_config TIMEOUT [ENDPOINT_FIELDS]
#                               print the socket-protection config: plain-in (1080) → direct,
#                               mark-in (1081) → "protected", a direct outbound with routing_mark
#                               0x80000, the tailnet → ts-ep (its JSON object gets ENDPOINT_FIELDS,
#                               e.g. ', "accept_routes": true'); both direct outbounds time out after TIMEOUT
_proxy_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

mark_config() {
  cat <<JSON
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep"${2:-}}],
  "inbounds": [
    {"type": "mixed", "tag": "plain-in", "listen": "127.0.0.1", "listen_port": 1080},
    {"type": "mixed", "tag": "mark-in", "listen": "127.0.0.1", "listen_port": 1081}
  ],
  "outbounds": [
    {"type": "direct", "tag": "direct", "connect_timeout": "$1"},
    {"type": "direct", "tag": "protected", "routing_mark": "0x80000", "connect_timeout": "$1"}
  ],
  "route": {
    "rules": [
      {"rule_set": "tailscale", "outbound": "ts-ep"},
      {"inbound": ["mark-in"], "outbound": "protected"}
    ],
    "final": "direct"
  }
}
JSON
}

PROXY_OUT=$t/proxy.out
PROXY_ERR=$t/proxy.err
# wait_listening PID WHAT ERRFILE SECS: until $PROXY_OUT has the listening record; fails as soon as
# PID (WHAT) exits, or after SECS seconds, with ERRFILE's text.
wait_listening() {
  local i
  for ((i = 0; i < $4 * 20; i++)); do
    grep -q '"type":"listening"' "$PROXY_OUT" && return 0
    kill -0 "$1" 2>/dev/null || fail "$2 exited: $(cat "$3")"
    sleep 0.05
  done
  fail "no listening record from $2 within $4 s: $(cat "$3")"
}

start_proxy() {
  # stdout is a socket, as systemd gives tailbox-proxy.service (StandardOutput=journal).
  : >"$PROXY_OUT"
  python3 "$_proxy_here/stdout-socket.py" "$PROXY_OUT" \
    ip netns exec "$NS_NODE" bash "$TB_SRC/scripts/tailbox-proxy" --bin "$TB_BIN" --socket "$DAEMON_SOCK" "$@" \
    2>"$PROXY_ERR" &
  PROXY_PID=$!
  track_pid "$PROXY_PID"
  wait_listening "$PROXY_PID" tailbox-proxy "$PROXY_ERR" 20
}

# stop_proxy: SIGTERM to tailbox-proxy alone (as Ctrl-C or systemctl stop would reach it first);
# it must exit within 15 s and take every stage with it, leaving nothing behind in the namespace.
_pipeline_left() {
  local p
  # Zombies (exited, not yet reaped by init) are not running: see tests/cli/tailbox-proxy-stop.sh.
  for p in $(ip netns pids "$NS_NODE"); do ps -o pid=,stat=,args= -p "$p"; done | awk '$2 !~ /^Z/' |
    grep -E 'tailbox-proxy|ts-status|sb-route|sb-relay' || true
}
_pipeline_gone() { [ -z "$(_pipeline_left)" ]; }
stop_proxy() {
  local end=$((SECONDS + 15))
  kill -TERM "$PROXY_PID"
  timeout 15 tail --pid="$PROXY_PID" -f /dev/null || fail "tailbox-proxy still running 15 s after SIGTERM: $(_pipeline_left)"
  while ! _pipeline_gone; do
    [ "$SECONDS" -lt "$end" ] || fail "still running after tailbox-proxy stopped: $(_pipeline_left)"
    sleep 0.05
  done
}

conn_count() { grep -c '"type":"conn"' "$PROXY_OUT" || true; }
conn_count_above() { [ "$(conn_count)" -gt "$1" ]; }

get() {  # URL [PORT [SCHEME]]
  local url=$1 port=${2:-1080} scheme=${3:-socks5h} n rc=0 i
  n=$(conn_count)
  in_ns "$NS_NODE" curl -sS --max-time 15 -o "$t/body" --proxy "$scheme://127.0.0.1:$port" "$url" 2>"$t/curl.err" || rc=$?
  BODY=$(cat "$t/body" 2>/dev/null || true)
  rm -f "$t/body"
  CONN=""
  for ((i = 0; i < 200; i++)); do  # the close record follows the last byte by a moment
    if [ "$(conn_count)" -gt "$n" ]; then
      CONN=$(grep '"type":"conn"' "$PROXY_OUT" | sed -n "$((n + 1))p")
      break
    fi
    sleep 0.05
  done
  [ -n "$CONN" ] || fail "no conn record for $url within 10 s (curl: $(cat "$t/curl.err"))"
  return "$rc"
}

conn_field() { printf '%s\n' "$CONN" | jq -r "$1"; }

generation() { grep '"type":"conn"' "$PROXY_OUT" | tail -1 | jq -r .generation; }
