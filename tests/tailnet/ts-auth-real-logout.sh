#!/usr/bin/env bash
# ts-auth logout against the real daemon: a node logged in (by the real CLI) ends in NeedsLogin, as
# the real CLI, the daemon's prefs (LoggedOut) and ts-status see it, with no node key or tailnet
# address left; a second logout is a no-op (changed:false, exit 0).
. "$(dirname "$0")/lib.sh"
AUTH=$(tool ts-auth)
ST=$(tool ts-status)

lab_up
node_login
[ -n "$(node_ip4)" ] || fail "no address after login: the logout check would be vacuous"
rc=0
timeout 20 "$AUTH" --socket "$NODE_SOCK" --json logout >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 0 ] || fail "ts-auth logout exited $rc: $(cat "$t/err")"
jq -e '.type == "logout" and .changed == true and .state == "needs_login"' "$t/out" >/dev/null || fail "record: $(cat "$t/out")"
wait_for 10 state_is node NeedsLogin
ts_status node --peers=false | jq -e '(.HaveNodeKey // false) == false and ((.TailscaleIPs // []) | length) == 0' >/dev/null ||
  fail "the daemon still has a node key or addresses: $(ts_status node --peers=false | jq -c '{HaveNodeKey, TailscaleIPs}')"
ts node debug prefs | jq -e '.LoggedOut == true and .WantRunning == false' >/dev/null ||
  fail "prefs after logout: $(ts node debug prefs | jq -c '{LoggedOut, WantRunning}')"
# ts-status: exit 1 (not running), state needs_login.
rc=0
"$ST" --socket "$NODE_SOCK" --json >"$t/st" || rc=$?
[ "$rc" = 1 ] && jq -e '.state == "needs_login"' "$t/st" >/dev/null || fail "ts-status exited $rc: $(jq -c .state "$t/st")"

# Already logged out: nothing to do.
rc=0
timeout 20 "$AUTH" --socket "$NODE_SOCK" --json logout >"$t/out2" 2>"$t/err2" || rc=$?
[ "$rc" = 0 ] || fail "second logout exited $rc: $(cat "$t/err2")"
jq -e '.changed == false and .state == "needs_login"' "$t/out2" >/dev/null || fail "second logout: $(cat "$t/out2")"
[ "$(state_of node)" = NeedsLogin ] || fail "state after the second logout: $(state_of node)"
echo "ok: $(cat "$t/out")"
