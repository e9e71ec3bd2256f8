#!/usr/bin/env bash
# Interrupted: SIGINT while ts-auth waits for the login URL to be visited, or while it is still
# reading the prefs, exits 130 and undoes nothing — no logout, no prefs edit; interrupted before
# start, the prefs are untouched.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
auth=$(tool ts-auth)

start_fake --scenario "$TB_FIXTURES/scenarios/needs-login.json"
before=$(lapi /localapi/v0/prefs)

# 1. Interrupted while the GET prefs is still running (the daemon is slow): no write at all.
fake_ctl '/fault?kind=slow&ms=20000&path=prefs' >/dev/null
stream_open early "$auth" --socket "$FAKE_SOCK" --request-timeout 30s up --hostname changed --timeout 60s
# The status request is logged once answered; prefs (slow) comes next.
for i in $(seq 1 200); do
  jq -s -e 'map(select(.path == "/localapi/v0/status")) | length >= 1' "$FAKE_LOG" >/dev/null 2>&1 && break
  [ "$i" = 200 ] && fail "ts-auth never asked for the status"
  sleep 0.05
done
kill -INT "$STREAM_PID"
stream_exit 130
grep -q "interrupted" "$STREAM_ERR" || fail "no message: $(cat "$STREAM_ERR")"
fake_ctl /clear-faults >/dev/null
[ "$(lapi /localapi/v0/prefs)" = "$before" ] || fail "prefs changed by an interrupted run"
jq -s -e 'map(select(.method != "GET")) | length == 0' "$FAKE_LOG" >/dev/null || fail "an interrupted run wrote something"

# 2. Interrupted while waiting for the URL to be visited: exit 130, no logout, no PATCH.
stream_open late "$auth" --socket "$FAKE_SOCK" --json up --timeout 60s --qr never
stream_until '.type == "auth_url"' 10
after_start=$(lapi /localapi/v0/prefs)
n=$(wc -l <"$FAKE_LOG")
kill -INT "$STREAM_PID"
stream_exit 130
jq -s -e 'last | .type == "error" and .exit_code == 130' "$STREAM_OUT" >/dev/null || fail "no error record: $(cat "$STREAM_OUT")"
tail -n +"$((n + 1))" "$FAKE_LOG" | jq -s -e 'map(select(.method != "GET")) | length == 0' >/dev/null \
  || fail "ts-auth wrote after SIGINT: $(tail -n +"$((n + 1))" "$FAKE_LOG")"
[ "$(lapi /localapi/v0/prefs)" = "$after_start" ] || fail "prefs changed after SIGINT"
fake_ctl /state -X GET | jq -e '.state == "NeedsLogin" and .auth_url != ""' >/dev/null || fail "the pending login was cancelled"
stop_fake
echo ok
