#!/usr/bin/env bash
# Interrupts and closed pipes: SIGINT/SIGTERM end watch and wait with 130 and no partial line;
# a closed stdout ends watch quietly with 141; watch always asks the bus with mask value 16.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
start_fake --generate-peers 2

# watch subscribes with NotifyNoPrivateKeys (16) set.
stream_open proc "$ts" --socket "$FAKE_SOCK" watch </dev/null
stream_line
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null
mask=$(grep '"path":"/localapi/v0/watch-ipn-bus"' "$FAKE_LOG" | tail -1 | jq -r '.query.mask')
[ $(( mask & 16 )) = 16 ] || fail "watch mask $mask lacks value 16"
kill -INT "$STREAM_PID"
wait_exit "$STREAM_PID" 130 10 "watch after SIGINT"

# SIGTERM while wait blocks: 130 at once. A fresh fake, because the first one may still count the
# killed watch's stream (the bus has no heartbeat to notice it), and /wait-watchers?n=1 would then
# return before wait has even started (SIGTERM would kill it with 143).
start_fake --generate-peers 2
"$ts" --socket "$FAKE_SOCK" wait --for peer:nobody --timeout 60s 2>/dev/null &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null
kill -TERM "$pid"
wait_exit "$pid" 130 5 "wait after SIGTERM"

# A closed pipe: watch exits 141 without a word on stderr, at once.
set +o pipefail
timeout 5 "$ts" --socket "$FAKE_SOCK" watch --interval 60s 2>"$t/err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$rc" = 141 ] || fail "watch | head -1: exit $rc"
[ ! -s "$t/err" ] || fail "closed pipe was noisy: $(cat "$t/err")"
echo ok
