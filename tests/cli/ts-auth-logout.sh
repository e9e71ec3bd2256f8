#!/usr/bin/env bash
# ts-auth logout: logs a running node out (one logout call), and is idempotent: a node already
# logged out is left alone (changed:false, no call).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
auth=$(tool ts-auth)
start_fake --scenario "$TB_FIXTURES/scenarios/running-linux-v1.94.json"
expect_exit 0 "$auth" --socket "$FAKE_SOCK" --json logout >"$t/o"
jq -e '.v == 1 and .type == "logout" and .changed == true and .state == "needs_login"' "$t/o" >/dev/null || fail "logout: $(cat "$t/o")"
fake_ctl /state -X GET | jq -e '.state == "NeedsLogin" and .logged_in == false' >/dev/null || fail "still logged in"
expect_exit 0 "$auth" --socket "$FAKE_SOCK" --json logout >"$t/o"
jq -e '.changed == false and .state == "needs_login"' "$t/o" >/dev/null || fail "second logout: $(cat "$t/o")"
[ "$("$auth" --socket "$FAKE_SOCK" logout)" = "Already logged out; nothing changed." ] || fail "text"
[ "$(jq -s 'map(select(.path == "/localapi/v0/logout")) | length' "$FAKE_LOG")" = 1 ] || fail "logout called more than once"
stop_fake
echo ok
