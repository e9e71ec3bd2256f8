#!/usr/bin/env bash
# As an unprivileged user (nobody, no groups) against the real daemon: reads work (ts-status --json,
# the same state as root sees), and ts-auth up exits 77 with the daemon's own reason, the one the
# real CLI reports for the same user: on a logged-out node (check-prefs is refused) and on a
# running node (the prefs edit is refused). Nothing changes in the daemon; the key given on stdin is
# not printed.
. "$(dirname "$0")/lib.sh"
AUTH=$(tool ts-auth)
ST=$(tool ts-status)
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
[ "$(id -u)" = 0 ] || skip "needs root to switch to nobody"

lab_up
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# nobody must reach the socket: the test's temp dirs are 0700.
chmod o+x "$t" "$LAB_DIR" "$LAB_DIR/node"
[ -w "$NODE_SOCK" ] || fail "no socket at $NODE_SOCK"
for p in "$AUTH" "$ST" "$TS"; do as_nobody test -x "$p" || skip "nobody cannot run $p (a parent directory is not searchable)"; done
prefs_before=$(ts node debug prefs)

# Reads: ts-status --json as nobody (exit 1: not running) says what it says as root.
rc=0
as_nobody "$ST" --socket "$NODE_SOCK" --json >"$t/st" 2>"$t/st.err" || rc=$?
[ "$rc" = 1 ] || fail "ts-status --json as nobody exited $rc (want 1, not running): $(cat "$t/st.err")"
jq -e '.state == "needs_login"' "$t/st" >/dev/null || fail "ts-status as nobody: $(head -c 300 "$t/st")"

# Writes, logged out: the full path (check-prefs). The real CLI's reason for the same user.
real_rc=0
as_nobody "$TS" --socket="$NODE_SOCK" up --login-server="$CONTROL_URL" --timeout=10s >/dev/null 2>"$t/real.err" || real_rc=$?
[ "$real_rc" != 0 ] || fail "the real CLI logged in as nobody: the lab is not what this test expects"
reason=$(sed -n 's/^Access denied: //p' "$t/real.err" | head -1)
[ -n "$reason" ] || fail "the real CLI did not say Access denied: $(cat "$t/real.err")"
rc=0
as_nobody "$AUTH" --socket "$NODE_SOCK" --json up --control-url "$CONTROL_URL" --auth-key - --timeout 10s \
  <<<"$AUTH_KEY" >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 77 ] || fail "ts-auth up as nobody exited $rc, want 77: $(cat "$t/err")"
grep -qF "access denied by tailscaled: $reason" "$t/err" || fail "stderr lacks the daemon's reason ($reason): $(cat "$t/err")"
jq -e --arg r "$reason" '.type == "error" and .exit_code == 77 and (.message | contains($r))' "$t/out" >/dev/null ||
  fail "error record: $(cat "$t/out")"
(umask 077 && printf '%s\n' "$AUTH_KEY" >"$t/key")  # grep -f: not the key on a command line
grep -qF -f "$t/key" "$t/out" "$t/err" && fail "the key is in the output"
[ "$(state_of node)" = NeedsLogin ] || fail "state after a refused up: $(state_of node)"
[ "$(ts node debug prefs)" = "$prefs_before" ] || fail "the prefs changed: $(diff <(echo "$prefs_before") <(ts node debug prefs))"

# Running (logged in by root): reads show it; an edit by nobody is refused with the daemon's reason.
node_login
as_nobody "$ST" --socket "$NODE_SOCK" --json >"$t/st" || fail "ts-status --json as nobody on a running node exited $?"
[ "$(jq -r .state "$t/st")" = running ] && [ "$(jq -c .self.ips "$t/st")" = "$(ts_status node --peers=false | jq -c .Self.TailscaleIPs)" ] ||
  fail "ts-status as nobody: $(jq -c '{state, ips: .self.ips}' "$t/st")"
rc=0
as_nobody "$AUTH" --socket "$NODE_SOCK" up --hostname renamed --timeout 10s >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 77 ] || fail "ts-auth up --hostname as nobody exited $rc, want 77: $(cat "$t/err")"
# The daemon's answer to the same edit from the same user, straight from the Local API.
body=$(as_nobody curl -sS --unix-socket "$NODE_SOCK" -H "Host: local-tailscaled.sock" -X PATCH -w ' %{http_code}' \
  -d '{"Hostname":"renamed","HostnameSet":true}' http://local-tailscaled.sock/localapi/v0/prefs)
[ "${body##* }" = 403 ] || fail "the daemon let nobody edit prefs: $body"
reason2=$(sed 's/ [0-9]*$//' <<<"$body" | head -1)
[ -n "$reason2" ] || fail "the daemon gave no reason: $body"
grep -qF "access denied by tailscaled: $reason2" "$t/err" || fail "stderr lacks the daemon's reason ($reason2): $(cat "$t/err")"
[ "$(ts node debug prefs | jq -r .Hostname)" != renamed ] || fail "the hostname changed"
[ "$(state_of node)" = Running ] || fail "state after a refused edit: $(state_of node)"
echo "ok: reads work as nobody; up exits 77 ($reason / $reason2)"
