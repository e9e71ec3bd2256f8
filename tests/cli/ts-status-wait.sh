#!/usr/bin/env bash
# `ts-status wait`: returns as soon as the condition holds, 75 on timeout, tolerates a daemon
# that starts later.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
start_fake --scenario "$TB_FIXTURES/scenarios/needs-login.json"

# Timeout: 75 with the state it saw.
rc=0; "$ts" --socket "$FAKE_SOCK" wait --for running --timeout 1s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q 'timed out after 1s waiting for running (state: needs_login)' "$t/err" || fail "timeout: $rc $(cat "$t/err")"

# Waits on the bus: log in while it waits; it returns right after Running.
"$ts" --socket "$FAKE_SOCK" wait --for running --timeout 20s 2>"$t/err" &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "wait never subscribed"
lapi /localapi/v0/login-interactive -X POST >/dev/null
fake_ctl '/visit-auth-url' >/dev/null
start=$(date +%s%N)
wait_exit "$pid" 0 10 "wait --for running, after Running" "$t/err"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "wait returned $ms ms after Running"

# ip and peer:NAME.
expect_exit 0 "$ts" --socket "$FAKE_SOCK" wait --for ip --timeout 5s --quiet
peer=$(lapi /localapi/v0/status | jq -r '[.Peer[] | select(.Online)][0].HostName')
expect_exit 0 "$ts" --socket "$FAKE_SOCK" wait --for "peer:$peer" --timeout 5s --quiet
fake_ctl "/peer?name=$peer&online=false" >/dev/null
expect_exit 75 "$ts" --socket "$FAKE_SOCK" wait --for "peer:$peer" --timeout 1s 2>/dev/null
"$ts" --socket "$FAKE_SOCK" wait --for "peer:$peer" --timeout 20s --quiet &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null
fake_ctl "/peer?name=$peer&online=true" >/dev/null
wait_exit "$pid" 0 10 "wait --for peer, after the peer came online"
stop_fake

# The daemon is not there yet: wait keeps trying, and succeeds once it starts.
sock=$t/late.sock
"$ts" --socket "$sock" wait --for running --timeout 20s --quiet 2>"$t/err" &
pid=$!; track_pid "$pid"
"$TB_FAKES/fake_tailscaled" --socket "$sock" --generate-peers 1 >"$t/late.ready" &
track_pid $!
wait_exit "$pid" 0 15 "wait --for running, with the daemon starting late" "$t/err"
echo ok
