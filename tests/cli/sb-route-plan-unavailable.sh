#!/usr/bin/env bash
# Without tailscaled the pipeline still routes: sb-route plan says once on stderr that the tailnet
# is unavailable (with the reason from the status record), however many unreachable records come,
# emits a plan whose tailnet rule-sets are empty, and says once that the tailnet is back when a
# running status arrives (its plan then carries the peers).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
route=$(tool sb-route)
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
# Real records: an unreachable one from ts-status on a missing socket, a running one from the stand-in.
rc=0; "$ts" --socket "$t/none.sock" --json >"$t/down.json" 2>/dev/null || rc=$?
[ "$rc" = 69 ] || fail "ts-status on a missing socket: exit $rc"
start_fake --generate-peers 2
"$ts" --socket "$FAKE_SOCK" --json >"$t/up.json" || fail "ts-status on the stand-in failed"
{ cat "$t/down.json" "$t/down.json" "$t/down.json" "$t/up.json" "$t/up.json" "$t/down.json"; } |
  "$route" plan >"$t/plans" 2>"$t/err" || fail "sb-route plan failed: $(cat "$t/err")"
[ "$(grep -c 'the tailnet is unavailable' "$t/err")" = 2 ] ||
  fail "want the unavailable line once per outage (2 outages): $(cat "$t/err")"
grep -q 'the tailnet is unavailable (cannot connect to tailscaled at .*none.sock' "$t/err" ||
  fail "the reason is missing: $(cat "$t/err")"
[ "$(grep -c 'the tailnet is available again' "$t/err")" = 1 ] || fail "want one 'available again' line: $(cat "$t/err")"
[ "$(wc -l <"$t/err")" = 3 ] || fail "stderr should hold exactly those three lines: $(cat "$t/err")"
[ "$(wc -l <"$t/plans")" = 3 ] || fail "want 3 plans (down, up, down again): $(cat "$t/plans" | jq -c '.status.state')"
jq -se '.[0].status.state == "daemon_unreachable" and .[1].status.state == "running" and .[2].status.state == "daemon_unreachable"' \
  "$t/plans" >/dev/null || fail "plan states: $(jq -c '.status.state' "$t/plans")"
echo ok
