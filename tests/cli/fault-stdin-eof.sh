#!/usr/bin/env bash
# Fault: standard input ends. (1) The first stage of `ts-status watch | sb-route plan | sb-relay`
# dies: sb-route plan sees the end of its input and exits 0 after writing its last plan; sb-relay
# then sees the end of the plan stream and, without --exit-on-eof, keeps serving the last plan
# (same port, direct traffic works, the last plan's generation in the conn records, no exit).
# (2) With --exit-on-eof sb-relay drains and exits 0: covered by sb-relay-plans.sh.
# The relay's end of input is observed in /proc: no thread of it blocks in a pipe read any more.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
start_fake --generate-peers 3
start_pipeline "$TB_FIXTURES/relay/direct.json"
port=$RELAY_PORT
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"
fake_ctl '/peer?name=peer1&online=false' >/dev/null  # a second plan
wait_for 10 sh -c "[ \$(wc -l <'$t/plans') -ge 2 ]"
last_gen=$(tail -1 "$t/plans" | jq .generation)
get() { curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$port" "http://127.0.0.1:$HTTP_PORT/hello.txt"; }
[ "$(get)" = "hello from tailbox" ] || fail "the pipeline does not serve"
reading_stdin() { grep -q 'pipe_read' /proc/"$RELAY_PID"/task/*/wchan 2>/dev/null; }
reading_stdin || fail "no sb-relay thread is reading the plan stream (cannot observe the end of input)"

kill "$WATCH_PID"
wait_exit "$PLAN_PID" 0 10 "sb-route plan at the end of its input" "$t/plan.err"
jq -e '.v == 1 and .type == "plan"' "$t/plans" >/dev/null || fail "a partial plan line"
stdin_done() { ! reading_stdin; }
wait_for 10 stdin_done
kill -0 "$RELAY_PID" 2>/dev/null || fail "sb-relay exited at the end of the plan stream (without --exit-on-eof)"
for i in 1 2 3; do [ "$(get)" = "hello from tailbox" ] || fail "request $i after the end of input failed"; done
wait_conns r 4
conn_records r | tail -3 | jq -se --argjson g "$last_gen" 'all(.generation == $g and .error == null)' >/dev/null ||
  fail "after the end of input the relay should use the last plan (generation $last_gen): $(conn_records r | tail -3)"
[ "$(grep -c '"type":"listening"' "$RELAY_OUT")" -ge 1 ] && [ "$(grep '"type":"listening"' "$RELAY_OUT" | jq -r '.inbounds[0].port' | sort -u)" = "$port" ] ||
  fail "the relay reopened its listeners"
kill -TERM "$RELAY_PID"
wait_exit "$RELAY_PID" 0 10 "sb-relay after SIGTERM" "$t/r.err"
echo ok
