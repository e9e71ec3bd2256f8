#!/usr/bin/env bash
# Every backend state gives a record and its exit status; the text says what tailscale says.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
start_fake --generate-peers 3

expect_exit 0 "$ts" --socket "$FAKE_SOCK" --json >"$t/run.json"
jq -e '.state == "running" and .connected and (.peers | length) >= 3 and .magic_dns.suffix != ""' "$t/run.json" >/dev/null || fail "running record"

fake_ctl '/state?value=Stopped' >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" >"$t/stopped.txt"
grep -qx 'Tailscale is stopped.' "$t/stopped.txt" || fail "stopped text: $(cat "$t/stopped.txt")"
expect_exit 1 "$ts" --socket "$FAKE_SOCK" --json >"$t/stopped.json"
jq -e '.state == "stopped" and (.connected | not) and .health == ["Tailscale is stopped."]' "$t/stopped.json" >/dev/null || fail "stopped record"

fake_ctl '/state?value=NeedsMachineAuth' >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" >"$t/nma.txt"
grep -qx 'Machine is not yet approved by tailnet admin.' "$t/nma.txt" || fail "needs-machine-auth text"

fake_ctl '/state?value=NoState' >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" --json >"$t/nostate.json"
jq -e '.state == "no_state"' "$t/nostate.json" >/dev/null || fail "no_state record"

fake_ctl '/state?value=Starting' >/dev/null
expect_exit 0 "$ts" --socket "$FAKE_SOCK" --json >"$t/starting.json"
jq -e '.state == "starting"' "$t/starting.json" >/dev/null || fail "starting record"

# Logged out via the daemon's own logout: record with state needs_login, no peers, exit 1.
fake_ctl '/state?value=Running' >/dev/null
lapi /localapi/v0/logout -X POST >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" --json >"$t/out.json"
jq -e '.state == "needs_login" and .peers == [] and .tailnet == null and .health == ["You are logged out."]' "$t/out.json" >/dev/null \
  || fail "logged-out record: $(cat "$t/out.json")"
echo ok
