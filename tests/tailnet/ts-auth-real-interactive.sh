#!/usr/bin/env bash
# Interactive login against the real daemon: with the control server requiring an interactive login,
# ts-auth up --no-wait --json prints the daemon's real login URL (an auth_url record, the same URL
# tailscale status shows as AuthURL and ts-auth url prints) and exits 0 without waiting; once the URL
# is completed at the control server, ts-status wait --for running succeeds and the node is Running.
. "$(dirname "$0")/lib.sh"
AUTH=$(tool ts-auth)
ST=$(tool ts-status)

lab_up
lab admin auth-mode interactive >/dev/null
rc=0
timeout 20 "$AUTH" --socket "$NODE_SOCK" --json up --control-url "$CONTROL_URL" --no-wait --qr never --timeout 15s \
  >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 0 ] || fail "ts-auth up --no-wait exited $rc: $(cat "$t/err")"
url=$(jq -r 'select(.type == "auth_url") | .url' "$t/out")
[ "$(wc -l <<<"$url")" = 1 ] && [ -n "$url" ] || fail "want one auth_url record: $(cat "$t/out")"
case $url in "$CONTROL_URL"/auth/*) ;; *) fail "auth URL $url is not the lab control server's ($CONTROL_URL)" ;; esac
jq -s -e --arg u "$url" 'last | .type == "up" and .state == "needs_login" and .auth_url == $u and .auth_key_source == null' \
  "$t/out" >/dev/null || fail "final record: $(tail -1 "$t/out")"
# The URL is the one the daemon is waiting on.
[ "$(ts_status node --peers=false | jq -r .AuthURL)" = "$url" ] ||
  fail "tailscale status AuthURL $(ts_status node --peers=false | jq -r .AuthURL), ts-auth printed $url"
[ "$("$AUTH" --socket "$NODE_SOCK" url)" = "$url" ] || fail "ts-auth url disagrees"
[ "$(state_of node)" = NeedsLogin ] || fail "state before the login is completed: $(state_of node)"

lab admin complete-auth "$url" >/dev/null
"$ST" --socket "$NODE_SOCK" wait --for running --timeout 30s >"$t/wait" 2>&1 || fail "ts-status wait --for running exited $?: $(cat "$t/wait")"
[ "$(state_of node)" = Running ] || fail "the real CLI says $(state_of node)"
[ -n "$(node_ip4)" ] || fail "no tailnet IPv4 address once Running"
echo "ok: $url completed; $(cat "$t/wait")"
