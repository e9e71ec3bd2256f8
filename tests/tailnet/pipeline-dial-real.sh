#!/usr/bin/env bash
# The Local API dial transport in the real lab: the node's tailscaled in userspace networking
# WITHOUT a SOCKS5 server (`lab up --userspace-no-socks5`), so there is neither a tailscale0 nor
# tailscaled's proxy. The pipeline (ts-status watch | sb-route plan | sb-relay --socket) reaches
# the tailnet anyway: the tailscale endpoint has no detour, the status says tun:false, so sb-relay
# asks tailscaled to open each connection (POST /localapi/v0/dial, Upgrade: ts-dial, 101, raw
# stream; man/sb-relay.1, "TAILNET TRANSPORTS"). Checked:
#   - the plan record's tailnet.transports says "dial" for ts-ep;
#   - peer.<suffix>:8080, peer:8080, the peer's 100.x and fd7a:: addresses answer "peer" through ts-ep;
#   - while a connection to the peer is held open, sb-relay holds a connection on tailscaled's
#     Local API socket (the raw stream), and nothing listens on 127.0.0.1:1055;
#   - a closed port on the peer is a failed connection whose conn record carries tailscaled's
#     answer (HTTP 502, dial failure);
#   - --tailscale-transport ts-ep=socks5 forces tailscaled's SOCKS5, which is not there: refused;
#     ts-ep=dial forces the dial transport even for a standalone sb-relay with no status at all.
. "$(dirname "$0")/lib.sh"
ts_status_bin=$(tool ts-status)
sb_route=$(tool sb-route)
sb_relay=$(tool sb-relay)

cat >"$t/config.json" <<'JSON'
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
  "inbounds": [{"type": "mixed", "tag": "plain-in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "direct", "connect_timeout": "3s"}],
  "route": {
    "rules": [{"rule_set": "tailscale", "outbound": "ts-ep"}],
    "final": "direct"
  }
}
JSON

lab_up --userspace-no-socks5
[ "$(jq -r '.userspace, .socks5' <<<"$LAB" | tr '\n' ' ')" = "true null " ] || fail "not a userspace lab without SOCKS5: $LAB"
node_login
in_node ip link show tailscale0 >/dev/null 2>&1 && fail "userspace networking, yet the node's namespace has a tailscale0"
[ -z "$(in_node ss -Htln '( sport = :1055 )')" ] || fail "something listens on 127.0.0.1:1055 in the node's namespace"

# The pipeline, with sb-relay told where the Local API is.
pipeline() {  # EXTRA SB-RELAY ARGS...
  : >"$PROXY_OUT"
  in_node bash -c '"$1" --socket "$2" watch | "$3" plan -c "$4" | "$5" --socket "$2" --events close "${@:6}"' - \
    "$ts_status_bin" "$NODE_SOCK" "$sb_route" "$t/config.json" "$sb_relay" "$@" >"$PROXY_OUT" 2>"$PROXY_ERR" &
  PIPE_PID=$!
  track_pid "$PIPE_PID"
  wait_for 20 grep -q '"type":"listening"' "$PROXY_OUT"
}
# The pipeline's stages in the node's namespace (this test's own: the lab's namespaces are per run).
stages() { for p in $(ip netns pids "$NODE_NS"); do ps -o pid=,comm= -p "$p"; done | awk '$2 ~ /^(ts-status|sb-route|sb-relay)$/ {print $1}'; }
pipeline_stop() {
  local p
  for p in $(stages); do kill -TERM "$p" 2>/dev/null || true; done
  wait_for 10 sh -c '[ -z "$(for p in $(ip netns pids "$0"); do ps -o comm= -p "$p"; done | grep -E "^(ts-status|sb-route|sb-relay)$")" ]' "$NODE_NS"
}

# The plan record names the transport sb-relay takes by default.
transports=$("$ts_status_bin" --socket "$NODE_SOCK" --json | "$sb_route" plan -c "$t/config.json" | jq -c .tailnet.transports)
[ "$transports" = '{"ts-ep":"dial"}' ] || fail "the plan's tailnet.transports: $transports"

pipeline
peer_by_every_name

# The proof: a connection to the peer held open holds a Unix stream between sb-relay and the
# daemon's socket, and no TCP connection to a proxy.
hold_start "peer.$SUFFIX" 8080
unix_pairs=$(in_node ss -Hxp | grep '"sb-relay"' || true)
tcp_out=$(in_node ss -Htnp state established | grep '"sb-relay"' | grep -v ':1080 ' || true)
[ -n "$unix_pairs" ] || fail "no Unix stream of sb-relay's during a held request through the dial transport"
[ -z "$tcp_out" ] || fail "sb-relay holds outgoing TCP connections during a held tailnet request: $tcp_out"
hold_end
echo "ok: no tailscale0, no SOCKS5; a held request holds sb-relay's stream on the Local API socket"

# A closed port on the peer: tailscaled's dial fails, the conn record says so.
rc=0; get "http://$PEER4:8089/" || rc=$?
[ "$rc" != 0 ] || fail "a closed port on the peer answered: $BODY"
conn_field .error | grep -q 'tailscaled dial at .*: HTTP 502: dial failure' || fail "closed port: conn record $CONN"
echo "ok: a closed port fails with tailscaled's answer: $(conn_field .error)"
pipeline_stop

# Forced SOCKS5 where there is none: the connection fails at 127.0.0.1:1055.
pipeline --tailscale-transport ts-ep=socks5
rc=0; get "http://$PEER4:8080/" || rc=$?
[ "$rc" != 0 ] || fail "ts-ep=socks5 without a SOCKS5 server answered: $BODY"
conn_field .error | grep -q '127.0.0.1:1055' || fail "ts-ep=socks5: conn record $CONN"
pipeline_stop
echo "ok: --tailscale-transport ts-ep=socks5 goes to 127.0.0.1:1055 (refused here)"

# Forced dial for a standalone sb-relay (no status: it would take tailscale0, which is not there).
cat >"$t/standalone.json" <<'JSON'
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
  "inbounds": [{"type": "mixed", "tag": "plain-in", "listen": "127.0.0.1", "listen_port": 1080}],
  "route": {"final": "ts-ep"}
}
JSON
: >"$PROXY_OUT"
in_node "$sb_relay" -c "$t/standalone.json" --socket "$NODE_SOCK" --tailscale-transport ts-ep=dial --events close \
  >"$PROXY_OUT" 2>"$PROXY_ERR" &
PIPE_PID=$!
track_pid "$PIPE_PID"
wait_for 10 grep -q '"type":"listening"' "$PROXY_OUT"
get "http://$PEER4:8080/" || fail "standalone, ts-ep=dial: curl failed: $CONN $(cat "$t/curl.err")"
[[ $BODY =~ $PEER_SAW ]] || fail "standalone, ts-ep=dial: $BODY"
pipeline_stop
echo "ok: --tailscale-transport ts-ep=dial reaches the peer without a status"
