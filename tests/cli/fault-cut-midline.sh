#!/usr/bin/env bash
# Fault: the daemon's IPN bus stream is cut in the middle of a Notify line (the fake writes half a
# line and closes), three times, with changes in between, under `ts-status watch | sb-route plan`.
# Expected: no partial JSON line ever reaches stdout: every line of watch and of sb-route plan
# parses with jq and starts with v and type; watch reports the cut (daemon reachable false, then
# true), re-reads the state, and its last status has the change made after the last cut;
# sb-route plan's last plan has the same tailnet state.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
sb=$(tool sb-route)
start_fake --generate-peers 5
mkfifo "$t/w2p"
"$ts" --socket "$FAKE_SOCK" watch --interval 60s 2>"$t/watch.err" | tee "$t/watch.out" >"$t/w2p" &
watch_pid=$!; track_pid "$watch_pid"
"$sb" plan <"$t/w2p" >"$t/plans" 2>"$t/plan.err" &
plan_pid=$!; track_pid "$plan_pid"
wait_watchers() { fake_ctl "/wait-watchers?n=1&timeout_ms=10000" >/dev/null || fail "watch did not (re)subscribe"; }
lines_with() { jq -c "select($1)" "$t/watch.out" 2>/dev/null | wc -l; }
wait_lines() {  # wait_lines JQ N: until watch printed N lines matching JQ (bounded, 15 s)
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(lines_with "$1")" -ge "$2" ] && return 0
    fake_ctl '/wait-watchers?n=99&timeout_ms=50' >/dev/null 2>&1 || true  # a bounded 50 ms pause on the fake
  done
  fail "watch printed fewer than $2 lines matching $1: $(tail -c 600 "$t/watch.out")"
}
wait_lines '.type == "status"' 1
for i in 1 2 3; do
  wait_watchers
  fake_ctl "/peer?name=peer$i&online=false" >/dev/null
  wait_lines ".type == \"status\" and ([.peers[] | select(.name == \"peer$i\")][0].online == false)" 1
  fake_ctl /cut-streams >/dev/null
  wait_lines '.type == "event" and .event == "daemon" and .reachable == true' "$i"
done
wait_watchers
fake_ctl '/peer?name=peer5&online=false' >/dev/null
wait_lines '.type == "status" and ([.peers[] | select(.online == false) | .name] | sort) == ["peer1", "peer2", "peer3", "peer4", "peer5"]' 1
[ "$(lines_with '.type == "event" and .event == "daemon" and .reachable == false')" -ge 3 ] || fail "watch did not report the cuts"
kill "$watch_pid" 2>/dev/null || true
wait_exit "$plan_pid" 0 10 "sb-route plan at the end of watch's output" "$t/plan.err"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s\n' "$line" | jq -e 'type == "object" and .v == 1 and (.type | type) == "string"' >/dev/null 2>&1 ||
    fail "watch stdout line $n is not a complete record: ${line:0:200}"
done <"$t/watch.out"
[ "$n" -gt 5 ] || fail "too few watch lines: $n"
jq -e '.v == 1 and .type == "plan"' "$t/plans" >/dev/null || fail "a plan line is not a complete record"
tail -1 "$t/plans" | jq -e '.tailnet.state == "running"' >/dev/null || fail "last plan: $(tail -1 "$t/plans" | head -c 300)"
echo ok
