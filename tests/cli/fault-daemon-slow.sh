#!/usr/bin/env bash
# Fault: the daemon is slow, answering later than --request-timeout.
# Expected: one-shot commands give up at the request timeout: `ts-status` and `ts-auth up` exit 75
# within ~1 s of --request-timeout 1s with one line on stderr (ts-auth --json: an error record
# with exit_code 75). `ts-status watch` (--interval 60s, so the safety net cannot help) treats a
# status read that times out like a lost daemon: it does not exit, says so (a daemon event with
# reachable false before the daemon_unreachable status), retries with its backoff (250 ms doubling
# to 5 s) and, once the daemon answers in time again, announces running within 10 s without
# waiting for another change or for --interval.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
auth=$(tool ts-auth)
start_fake --scenario "$TB_FIXTURES/scenarios/needs-login.json"
fake_ctl '/fault?kind=slow&ms=4000&count=1&path=prefs' >/dev/null
start=$(date +%s%N)
rc=0; "$auth" --socket "$FAKE_SOCK" --request-timeout 1s --json up --timeout 20s --qr never >"$t/a.out" 2>"$t/a.err" || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 75 ] || fail "ts-auth up on a slow daemon: exit $rc, want 75: $(cat "$t/a.err")"
[ "$ms" -lt 3500 ] || fail "ts-auth up took $ms ms with --request-timeout 1s"
[ "$(wc -l <"$t/a.err")" = 1 ] || fail "ts-auth: want one stderr line: $(cat "$t/a.err")"
tail -1 "$t/a.out" | jq -e '.type == "error" and .exit_code == 75' >/dev/null || fail "ts-auth record: $(cat "$t/a.out")"
fake_ctl /clear-faults >/dev/null
stop_fake

start_fake --generate-peers 3
fake_ctl '/fault?kind=slow&ms=4000&count=1&path=status' >/dev/null
start=$(date +%s%N)
rc=0; "$ts" --socket "$FAKE_SOCK" --request-timeout 1s >/dev/null 2>"$t/s.err" || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 75 ] && [ "$ms" -lt 3500 ] || fail "ts-status on a slow daemon: exit $rc after $ms ms"
[ "$(wc -l <"$t/s.err")" = 1 ] || fail "ts-status: want one stderr line: $(cat "$t/s.err")"

stream_open proc "$ts" --socket "$FAKE_SOCK" --request-timeout 1s watch --interval 60s </dev/null
stream_line
echo "$LINE" | jq -e '.type == "status" and .state == "running"' >/dev/null || fail "first line: $LINE"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"
# The next two status reads are slow (4 s > 1 s); a change makes watch read the status.
fake_ctl '/fault?kind=slow&ms=4000&count=2&path=status' >/dev/null
fake_ctl '/peer?name=peer1&online=false' >/dev/null
: >"$STREAM_OUT"  # from here on: the lines read since the slow replies began
stream_until '.type == "status" and .state == "daemon_unreachable"' 10
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited on a slow daemon"
# No further change: watch must retry by itself once the slow replies are used up.
stream_until '.type == "status" and .state == "running" and ([.peers[] | select(.name == "peer1")][0].online == false)' 10 \
  "watch did not announce running within 10 s once the daemon answered in time again: after a timed-out status read it does not retry by itself (only on the next Notify or at --interval)"
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited"
jq -s -e 'map(select(.type == "event" and .event == "daemon" and .reachable == false)) | length == 1' "$STREAM_OUT" >/dev/null ||
  fail "watch printed a daemon_unreachable status without a daemon event (reachable false): $(jq -c '{type,event,state}' "$STREAM_OUT" | tr '\n' ' ')"
echo ok
