#!/usr/bin/env bash
# ts-status check's structured health, --require-exit-node-online and --max-relayed against the
# real tailscaled (v1.102.5 in the lab):
#   - logged out (a fresh node), the daemon's health.State (IPN bus) names the wantrunning-false
#     warnable, severity low, not impacting connectivity; watch's status record carries it in
#     health_warnings; check is CRITICAL for the state alone;
#   - logged in: OK, with the health_connectivity perfdata and the --max-relayed threshold;
#   - --require-exit-node-online: CRITICAL without an exit node, OK once chosen, CRITICAL while
#     control says the exit node is offline.
. "$(dirname "$0")/lib.sh"
st=$(tool ts-status)
chk() { local rc=0; "$st" --socket "$NODE_SOCK" check "$@" >"$t/out" 2>"$t/err" || rc=$?; echo "$rc"; }
lab_up
wait_for 15 state_is node NeedsLogin  # a fresh daemon passes through NoState first

stream_open watch "$st" --socket "$NODE_SOCK" watch --no-events
stream_until '.health_warnings | any(.code == "wantrunning-false")' 10 "a logged-out record with the wantrunning-false warning"
jq -e '.health_warnings[] | select(.code == "wantrunning-false") | .severity == "low" and .title == "Tailscale off"
  and .impacts_connectivity == false and (.broken_since | test("^20[0-9-]+T[0-9:]+Z$"))' \
  <<<"$LINE" >/dev/null || fail "wantrunning-false warning: $(jq -c .health_warnings <<<"$LINE")"
stream_stop
rc=$(chk)
[ "$rc" = 2 ] && grep -q '^TAILSCALE CRITICAL - state needs_login' "$t/out" && ! grep -q 'impacts connectivity' "$t/out" \
  || fail "logged out: $rc $(cat "$t/out")"
echo "ok: logged out: $(jq -c '[.health_warnings[] | {code, severity, impacts_connectivity}]' <<<"$LINE")"

node_login
wait_for 20 sh -c '"$0" --socket "$1" --json | jq -e "[.peers[] | select(.online)] | length >= 2" >/dev/null' "$st" "$NODE_SOCK"
rc=$(chk --max-relayed 0)
relayed=$(grep -o "'peers_relayed'=[0-9]*" "$t/out" | cut -d= -f2)
if [ "$relayed" = 0 ]; then
  [ "$rc" = 0 ] || fail "logged in, nothing relayed: $rc $(cat "$t/out")"
else
  [ "$rc" = 1 ] && grep -q "$relayed peers relayed (more than 0)" "$t/out" || fail "logged in, $relayed relayed: $rc $(cat "$t/out")"
fi
grep -q "'peers_relayed'=$relayed;0;;0" "$t/out" && grep -q "'health_connectivity'=0;;0;0" "$t/out" || fail "perfdata: $(cat "$t/out")"
echo "ok: logged in: $(head -1 "$t/out")"

rc=$(chk --require-exit-node-online)
[ "$rc" = 2 ] && grep -q 'no exit node in use' "$t/out" || fail "no exit node: $rc $(cat "$t/out")"
ts node set --exit-node="$EXIT4" || fail "tailscale set --exit-node $EXIT4 failed"
wait_for 20 sh -c '[ "$("$0" --socket "$1" check --require-exit-node-online >/dev/null 2>&1; echo $?)" = 0 ]' "$st" "$NODE_SOCK"
lab admin online exit false >/dev/null
wait_for 20 sh -c '"$0" --socket "$1" check --require-exit-node-online | grep -q "exit node exit offline"' "$st" "$NODE_SOCK"
rc=$(chk --require-exit-node-online)
[ "$rc" = 2 ] || fail "exit node offline: $rc $(cat "$t/out")"
echo "ok: --require-exit-node-online: $(head -1 "$t/out")"
