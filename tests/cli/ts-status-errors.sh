#!/usr/bin/env bash
# Failures: no daemon (69, fast), access denied (77), slow (75), garbage and 500 (76), bad usage (2).
# JSON modes still print one complete record; stderr gets one line.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)

# No daemon at all: exit 69 within 3 s, one line on stderr naming the socket and the hint.
start=$(date +%s%N)
rc=0; "$ts" --socket "$t/none.sock" --json >"$t/out" 2>"$t/err" || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 69 ] || fail "no daemon: exit $rc"
[ "$ms" -lt 3000 ] || fail "no daemon took $ms ms"
[ "$(wc -l <"$t/err")" = 1 ] || fail "stderr is not one line: $(cat "$t/err")"
grep -q "$t/none.sock" "$t/err" && grep -q 'is tailscaled running' "$t/err" || fail "message: $(cat "$t/err")"
jq -e '.type == "status" and .state == "daemon_unreachable" and .peers == [] and (.error | length) > 0' "$t/out" >/dev/null || fail "unreachable record"
# Text mode: nothing on stdout.
rc=0; "$ts" --socket "$t/none.sock" >"$t/out" 2>/dev/null || rc=$?
[ "$rc" = 69 ] && [ ! -s "$t/out" ] || fail "text mode with no daemon: exit $rc, stdout $(cat "$t/out")"
# TS_SOCKET is honoured when --socket is absent.
rc=0; TS_SOCKET=$t/env.sock "$ts" 2>"$t/err" >/dev/null || rc=$?
[ "$rc" = 69 ] && grep -q "$t/env.sock" "$t/err" || fail "TS_SOCKET not used: $(cat "$t/err")"
# A stale socket file (nobody listening): still 69.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()" "$t/stale.sock"
expect_exit 69 "$ts" --socket "$t/stale.sock" 2>/dev/null

start_fake --generate-peers 2
# 403: the daemon's reason and the operator hint.
fake_ctl '/permissions?mode=none' >/dev/null
rc=0; "$ts" --socket "$FAKE_SOCK" --json >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 77 ] || fail "403: exit $rc"
grep -q 'status access denied' "$t/err" && grep -q 'operator' "$t/err" || fail "403 message: $(cat "$t/err")"
jq -e '.state == "access_denied"' "$t/out" >/dev/null || fail "access_denied record"
fake_ctl '/permissions?mode=rw' >/dev/null

# Slow daemon: the request timeout gives 75.
fake_ctl '/fault?kind=slow&ms=3000&count=1&path=status' >/dev/null
rc=0; "$ts" --socket "$FAKE_SOCK" --request-timeout 500ms --json >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 75 ] || fail "slow: exit $rc ($(cat "$t/err"))"
jq -e '.state == "daemon_unreachable"' "$t/out" >/dev/null || fail "slow: record"
fake_ctl '/clear-faults' >/dev/null

# Garbage with a 200: 76, no partial JSON.
fake_ctl '/fault?kind=garbage&count=1&path=status' >/dev/null
rc=0; "$ts" --socket "$FAKE_SOCK" --json >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 76 ] || fail "garbage: exit $rc"
jq -e . "$t/out" >/dev/null || fail "garbage: stdout is not complete JSON"
[ "$(wc -l <"$t/err")" = 1 ] || fail "garbage: stderr not one line"

# --raw passes garbage through unchanged, and still says it was garbage.
fake_ctl '/fault?kind=garbage&count=1&path=status' >/dev/null
rc=0; "$ts" --socket "$FAKE_SOCK" --raw >"$t/out" 2>/dev/null || rc=$?
[ "$rc" = 76 ] && [ -s "$t/out" ] || fail "--raw garbage: exit $rc"

# 500: 76 with the daemon's text.
fake_ctl '/fault?kind=500&count=1&path=status&body=backend%20not%20ready' >/dev/null
rc=0; "$ts" --socket "$FAKE_SOCK" 2>"$t/err" >/dev/null || rc=$?
[ "$rc" = 76 ] && grep -q 'HTTP 500' "$t/err" || fail "500: exit $rc, $(cat "$t/err")"

# Usage errors: 2, and 3 (UNKNOWN) for check.
expect_exit 2 "$ts" --bogus 2>/dev/null
expect_exit 2 "$ts" --json --raw 2>/dev/null
expect_exit 2 "$ts" --request-timeout soon 2>/dev/null
expect_exit 2 "$ts" wait --for nothing 2>/dev/null
expect_exit 2 "$ts" wait --for peer: 2>/dev/null
expect_exit 2 "$ts" watch --interval 0 2>/dev/null
expect_exit 3 "$ts" check --warn-expiry banana 2>/dev/null
expect_exit 3 "$ts" check --bogus 2>/dev/null
expect_exit 0 "$ts" --help >/dev/null
echo ok
