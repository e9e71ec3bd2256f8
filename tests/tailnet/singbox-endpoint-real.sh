#!/usr/bin/env bash
# preferred_by decided by sing-box itself: the reference sing-box 1.13.19's own tailscale endpoint
# (tsnet, userspace) logs in to the lab's control server as a node of its own ("sbnode", in the
# node's namespace, state in $t), with accept_routes. control_url and the lab's auth_key are all
# it needs: testcontrol speaks the Noise protocol over plain HTTP, and DERP and STUN are the hub's. Its rules send `preferred_by: ["ts-ep"]`
# to the SOCKS marker "preferred" and everything else (final) to the marker "final", so the marker
# that answers a connection through sing-box's mixed inbound is sing-box's decision.
# `sb-route decide` gets the same config with the status record of the lab's own tailscaled node
# (ts-status --json, logged in with --accept-routes) and must decide the same for: the peers'
# MagicDNS names and addresses, a tailnet address no peer has, names and addresses outside the
# tailnet, and 10.77.0.10 before the exit node's subnet route 10.77.0.0/24 is approved, while it
# is (then also 10.77.0.200), and after it is withdrawn. Each decision is also checked against
# what tests/tailnet/preferred-by-real.sh expects of tailbox.
# (sing-box's rule: route/rule/rule_item_preferred_by.go; its preferred routes:
# protocol/tailscale/endpoint.go, PreferredDomain/PreferredAddress, rebuilt on every reconfig.)
. "$(dirname "$0")/lib.sh"
sb=$(tool sb-route)
st=$(tool ts-status)
ref=${TB_SINGBOX:-$TB_SRC/build/singbox/sing-box}
[ -x "$ref" ] || skip "the reference sing-box is not built ($ref; make singbox)"
"$ref" version | grep -q with_tailscale || skip "the reference sing-box is built without with_tailscale"

lab_up
node_login --accept-routes

# The config both run. sb-route reads the endpoint's login fields and ignores them (its status
# comes from the record); sing-box logs in with them.
jq -n --arg c "$CONTROL_URL" --arg k "$AUTH_KEY" --arg d "$t/sb-state" '{
  log: {level: "trace", timestamp: false},
  endpoints: [{type: "tailscale", tag: "ts-ep", control_url: $c, auth_key: $k, state_directory: $d,
               hostname: "sbnode", accept_routes: true}],
  inbounds: [{type: "mixed", tag: "in", listen: "127.0.0.1", listen_port: 2080}],
  outbounds: [{type: "socks", tag: "preferred", server: "127.0.0.1", server_port: 2081},
              {type: "socks", tag: "final", server: "127.0.0.1", server_port: 2082}],
  route: {rules: [{preferred_by: ["ts-ep"], outbound: "preferred"}], final: "final"}
}' >"$t/config.json"
"$sb" check -c "$t/config.json" >/dev/null 2>"$t/check.err" || fail "sb-route check: $(cat "$t/check.err")"
"$ref" check -c "$t/config.json" 2>"$t/ref-check.err" || fail "sing-box check: $(cat "$t/ref-check.err")"

# Started with `ip netns exec` itself (not the in_node function, which would fork a shell), so
# that $! is the process: ip execs the command in the namespace.
: >"$t/markers.log"
ip netns exec "$NODE_NS" python3 -u "$(dirname "$0")/socks-marker.py" preferred 2081 final 2082 >"$t/markers.log" 2>&1 &
track_pid $!
wait_for 10 grep -q '"type": "ready"' "$t/markers.log"

: >"$t/sing-box.log"
ip netns exec "$NODE_NS" "$ref" run -c "$t/config.json" >"$t/sing-box.log" 2>&1 &
SB_PID=$!
track_pid "$SB_PID"

# sing-box's endpoint is logged in and its preferred routes are built: tsnet's state line comes
# after the first reconfig (endpoint.go's onReconfig stores the routes there).
wait_running() { grep -q 'Switching ipn state Starting -> Running' "$t/sing-box.log"; }
sb_log() { sed 's/\x1b\[[0-9;]*m//g' "$t/sing-box.log" | grep -v TRACE | tail -5; }  # its last lines, without colours
end=$((SECONDS + 30))
until wait_running; do
  kill -0 "$SB_PID" 2>/dev/null || fail "sing-box exited: $(sb_log)"
  [ "$SECONDS" -lt "$end" ] || fail "sing-box's endpoint is not running after 30 s: $(sb_log)"
  sleep 0.05
done
grep -q 'Waiting for authentication' "$t/sing-box.log" && fail "sing-box's endpoint asked for interactive login"
grep -q 'netmap: self: .* auth=machine-authorized' "$t/sing-box.log" || fail "sing-box's endpoint has no netmap of its own"

singbox_says() {  # HOST:PORT: the marker that answers through sing-box's mixed inbound
  local body
  body=$(in_node curl -sS --max-time 5 --socks5-hostname 127.0.0.1:2080 "http://$1/" 2>"$t/curl.err") ||
    { echo "curl-failed"; return 0; }
  [ "${body#* }" = "$1" ] || { echo "wrong-destination:$body"; return 0; }
  echo "${body%% *}"
}
tailbox_says() {  # HOST:PORT: sb-route decide on the node's status record
  { "$st" --socket "$NODE_SOCK" --json; jq -nc --arg d "$1" '{destination: $d, inbound: "in"}'; } |
    "$sb" decide -c "$t/config.json" | jq -r 'select(.type == "decision") | .outbound'
}
says() { [ "$("$1" "$2")" = "$3" ]; }  # WHO DEST OUTBOUND

# The inputs and, for each phase, what both must decide: the peers by MagicDNS name (FQDN and
# single label, preferred through the search domain), by address; a tailnet address no peer has;
# a name outside the tailnet; the lab's internet server 198.18.0.10.
compare() {  # PHASE DEST=OUTBOUND...
  local phase=$1 pair dest want sbx tbx
  shift
  for pair in "$@"; do
    dest=${pair%=*} want=${pair##*=}
    sbx=$(singbox_says "$dest")
    tbx=$(tailbox_says "$dest")
    [ "$sbx" = "$tbx" ] || fail "$phase: $dest: sing-box decides $sbx, sb-route decide $tbx (curl: $(cat "$t/curl.err"))"
    [ "$sbx" = "$want" ] || fail "$phase: $dest: both decide $sbx, expected $want"
  done
  echo "ok: $phase: sing-box and sb-route agree on $*"
}
common=("peer.$SUFFIX:8080=preferred" "peer:8080=preferred" "$PEER4:8080=preferred" "[$PEER6]:8080=preferred"
  "exit.$SUFFIX:80=preferred" "$EXIT4:80=preferred" "100.64.0.99:80=final" "example.com:80=final"
  "198.18.0.10:80=final")

compare "subnet route not approved" "${common[@]}" "10.77.0.10:8080=final"

# tsnet logs each netmap change as a diff of peer lines ("- old", "+ new"): the newest "+" line of
# the exit node gains 10.77.0.0/24, then loses it. The reconfig that rebuilds the preferred routes
# follows that line, so the decisions are then waited for (bounded) too.
exit_has_subnet() {
  sed 's/\x1b\[[0-9;]*m//g' "$t/sing-box.log" | grep "^+ .* $EXIT4 " | tail -1 | grep -q ' 10\.77\.0\.0/24 '
}
exit_lost_subnet() { ! exit_has_subnet; }

lab admin set-routes exit 10.77.0.0/24 0.0.0.0/0 ::/0 >/dev/null
wait_for 10 exit_has_subnet
wait_for 10 says tailbox_says 10.77.0.10:8080 preferred
wait_for 10 says singbox_says 10.77.0.10:8080 preferred
compare "subnet route approved" "${common[@]}" "10.77.0.10:8080=preferred" "10.77.0.200:8080=preferred"

lab admin set-routes exit 0.0.0.0/0 ::/0 >/dev/null
wait_for 10 exit_lost_subnet
wait_for 10 says tailbox_says 10.77.0.10:8080 final
wait_for 10 says singbox_says 10.77.0.10:8080 final
compare "subnet route withdrawn" "${common[@]}" "10.77.0.10:8080=final"

kill -TERM "$SB_PID"
wait_exit "$SB_PID" 0 10 "sing-box" "$t/sing-box.log"
