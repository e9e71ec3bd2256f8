#!/usr/bin/env bash
# sb-relay waiting for its first plan (stdin open, no plan yet) ends on one SIGTERM: exit 130,
# nothing on stdout. It used to need a second signal (the signal thread exits only on a second, and
# a blocked read of stdin never looks at the interrupt flag), so a relay whose planner never
# produced a plan outlived tailbox-proxy when one SIGTERM reached the whole group.
. "$(dirname "$0")/lib.sh"
relay=$(tool sb-relay)

mkfifo "$t/plans"
"$relay" <"$t/plans" >"$t/out" 2>"$t/err" &
pid=$!
track_pid "$pid"
exec 7>"$t/plans"
# Synchronise on the relay reading stdin: a bad line is reported once read.
echo 'not a plan' >&7
wait_for 10 grep -q 'stdin line 1: not a JSON object' "$t/err"
kill -TERM "$pid"
wait_exit "$pid" 130 5 "sb-relay, SIGTERM while it waits for its first plan" "$t/err"
[ ! -s "$t/out" ] || fail "stdout before any plan: $(cat "$t/out")"
exec 7>&-
