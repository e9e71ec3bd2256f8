#!/usr/bin/env bash
# Fault: tailscaled is killed (SIGKILL: no clean shutdown, its socket file stays behind, connects
# are refused) while `ts-status watch` runs, then a new daemon starts on the same socket.
# Expected: watch does not exit; it prints a daemon event with reachable false and a status record
# with state daemon_unreachable (peers emptied); when the daemon is back, a daemon event with
# reachable true and a running status with the peers again; every stdout line is a complete record.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
start_fake --generate-peers 3
sock=$FAKE_SOCK
stream_open proc "$ts" --socket "$sock" watch --interval 60s </dev/null
stream_line
echo "$LINE" | jq -e '.type == "status" and .state == "running" and (.peers | length) == 3' >/dev/null || fail "first line: $LINE"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"
kill -KILL "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null || true
[ -S "$sock" ] || fail "SIGKILL should leave the socket file behind (is this a kill?)"
stream_until '.type == "event" and .event == "daemon" and .reachable == false' 10
stream_until '.type == "status" and .state == "daemon_unreachable" and .peers == []' 10
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited when the daemon died"
# A new daemon on the same path (the stale socket file is replaced).
_tb_fake_n=0; rm -f "$t/ready0.fifo"  # the same socket path again
start_fake --generate-peers 3
[ "$FAKE_SOCK" = "$sock" ] || fail "the new daemon is on another socket"
stream_until '.type == "event" and .event == "daemon" and .reachable == true' 15
stream_until '.type == "status" and .state == "running" and (.peers | length) == 3' 15
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited"
jq -e 'has("v") and has("type")' "$STREAM_OUT" >/dev/null 2>&1 || fail "a stdout line is not a complete record: $(cat "$STREAM_OUT")"
[ ! -s "$STREAM_ERR" ] || [ "$(wc -l <"$STREAM_ERR")" -le 5 ] || fail "watch is noisy on stderr: $(head -5 "$STREAM_ERR")"
echo ok
