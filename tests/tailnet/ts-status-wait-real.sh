#!/usr/bin/env bash
# ts-status wait against the real tailscaled (v1.102.5 in the lab): each condition is met by the
# real event that makes it true, and times out (75) where it is not.
#   - running, ip, peer-online:peer and dns:peer.<suffix> together, while the node logs in (the
#     wait is subscribed first; dns: asks the daemon's own resolver through dns-query);
#   - dns: of a name nobody has times out; it holds once control adds the record;
#   - peer-online: times out while control says the peer is offline, holds once it is back;
#   - direct:peer holds once traffic makes the path direct (tailscale ping);
#   - exit-node-online: times out without an exit node; holds once the exit node is chosen;
#     times out again while control says the exit node is offline.
. "$(dirname "$0")/lib.sh"
st=$(tool ts-status)
w() { "$st" --socket "$NODE_SOCK" wait "$@"; }
lab_up
wait_for 15 state_is node NeedsLogin  # a fresh daemon passes through NoState first

rc=0; w --for running --timeout 1s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q 'waiting for running (state: needs_login)' "$t/err" || fail "logged out: $rc $(cat "$t/err")"

w --for running --for ip --for peer-online:peer --for "dns:peer.$SUFFIX" --timeout 60s 2>"$t/login.err" &
pid=$!; track_pid "$pid"
wait_for 10 sh -c 'ss -Hxp | grep -q "ts-status"'  # subscribed (its bus stream is open)
node_login
wait_exit "$pid" 0 30 "wait for running, ip, peer-online and dns during login" "$t/login.err"
grep -q "^ts-status: running, ip, peer-online:peer, dns:peer.$SUFFIX: ok$" "$t/login.err" || fail "login: $(cat "$t/login.err")"
echo "ok: running, ip, peer-online:peer and dns:peer.$SUFFIX while logging in"

rc=0; w --for "dns:db.$SUFFIX" --timeout 2s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q "waiting for dns:db.$SUFFIX (state: running)" "$t/err" || fail "dns: unknown name: $rc $(cat "$t/err")"
w --for "dns:db.$SUFFIX" --timeout 30s --quiet 2>"$t/err" &
pid=$!; track_pid "$pid"
lab admin dns-record "db.$SUFFIX" "$PEER4" >/dev/null
wait_exit "$pid" 0 30 "dns: once control added the record" "$t/err"
echo "ok: dns: of a new control record"

lab admin online peer false >/dev/null
wait_for 20 sh -c '"$0" --socket "$1" --json | jq -e ".peers[] | select(.host_name == \"peer\") | .online == false" >/dev/null' "$st" "$NODE_SOCK"
rc=0; w --for peer-online:peer --timeout 2s 2>/dev/null || rc=$?
[ "$rc" = 75 ] || fail "peer-online while control says offline: $rc"
w --for peer-online:peer --timeout 30s --quiet 2>"$t/err" &
pid=$!; track_pid "$pid"
lab admin online peer true >/dev/null
wait_exit "$pid" 0 30 "peer-online once control says online" "$t/err"
echo "ok: peer-online:peer follows control's online state"

w --for direct:peer --timeout 40s 2>"$t/err" &
pid=$!; track_pid "$pid"
ts node ping --until-direct -c 30 peer >/dev/null 2>&1 || true
wait_exit "$pid" 0 40 "direct:peer after tailscale ping" "$t/err"
echo "ok: direct:peer"

rc=0; w --for exit-node-online --timeout 1s 2>/dev/null || rc=$?
[ "$rc" = 75 ] || fail "exit-node-online without an exit node: $rc"
w --for exit-node-online --timeout 30s --quiet 2>"$t/err" &
pid=$!; track_pid "$pid"
ts node set --exit-node="$EXIT4" || fail "tailscale set --exit-node $EXIT4 failed"
wait_exit "$pid" 0 30 "exit-node-online once chosen" "$t/err"
lab admin online exit false >/dev/null
wait_for 20 sh -c '"$0" --socket "$1" --json | jq -e ".exit_node.online == false" >/dev/null' "$st" "$NODE_SOCK"
rc=0; w --for exit-node-online --timeout 2s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q 'waiting for exit-node-online' "$t/err" || fail "exit node offline: $rc $(cat "$t/err")"
echo "ok: exit-node-online"
