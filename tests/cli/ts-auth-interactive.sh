#!/usr/bin/env bash
# Interactive login: ts-auth up prints an auth_url record the moment the daemon offers the URL
# (and a QR code on stderr with --qr always), state records as the state changes, and the final
# up record once the URL was visited. `ts-auth url` shows the pending URL; --no-wait returns at once.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
auth=$(tool ts-auth)

start_fake --scenario "$TB_FIXTURES/scenarios/needs-login.json"
expect_exit 1 "$auth" --socket "$FAKE_SOCK" url >"$t/url0" 2>"$t/url0.err"
[ ! -s "$t/url0" ] || fail "url printed something with no login pending"
grep -q "no login URL pending" "$t/url0.err" || fail "url message: $(cat "$t/url0.err")"

stream_open up "$auth" --socket "$FAKE_SOCK" --json up --qr always --timeout 30s
stream_until '.type == "auth_url"' 10
url=$(jq -r .url <<<"$LINE")
[ "$url" = "$(fake_ctl /auth-url -X GET)" ] || fail "auth_url $url is not the daemon's"
# While the login is pending: ts-auth url prints it (text and JSON).
[ "$("$auth" --socket "$FAKE_SOCK" url)" = "$url" ] || fail "ts-auth url"
"$auth" --socket "$FAKE_SOCK" --json url | jq -e --arg u "$url" '.v == 1 and .type == "auth_url" and .url == $u and .state == "needs_login"' >/dev/null \
  || fail "ts-auth --json url"
fake_ctl /visit-auth-url >/dev/null
stream_until '.type == "up"' 10
stream_exit 0
jq -s -e '[.[] | select(.type == "state") | .state] == ["needs_login", "starting", "running"]' "$STREAM_OUT" >/dev/null \
  || fail "states: $(cat "$STREAM_OUT")"
jq -s -e 'last | .state == "running" and .changed == true and .auth_url == null and .auth_key_source == null
          and .ips == ["100.64.0.1", "fd7a:115c:a1e0::1"]' "$STREAM_OUT" >/dev/null || fail "final: $(tail -1 "$STREAM_OUT")"
jq -s -e 'map(select(.type == "auth_url")) | length == 1' "$STREAM_OUT" >/dev/null || fail "URL printed more than once"
grep -q '█' "$STREAM_ERR" || fail "no QR code on stderr with --qr always"
seq=$(jq -r 'select(.method != "GET" or .path == "/localapi/v0/watch-ipn-bus") | "\(.method) \(.path)"' "$FAKE_LOG" | sed 's#/localapi/v0/##' | tr '\n' ,)
[ "$seq" = "GET watch-ipn-bus,POST check-prefs,POST start,POST login-interactive," ] || fail "sequence: $seq"
expect_exit 1 "$auth" --socket "$FAKE_SOCK" url 2>/dev/null >/dev/null

# --no-wait: the URL, a final record saying the login is pending, exit 0 — in text mode too.
lapi /localapi/v0/logout -X POST >/dev/null
expect_exit 0 "$auth" --socket "$FAKE_SOCK" --json up --no-wait --timeout 30s >"$t/nw"
jq -s -e 'map(.type) == ["state", "auth_url", "up"] and .[2].state == "needs_login" and .[2].auth_url == .[1].url
          and (.[1].url | startswith("https://login.tailscale.com/a/"))' "$t/nw" >/dev/null || fail "--no-wait: $(cat "$t/nw")"
expect_exit 0 "$auth" --socket "$FAKE_SOCK" up --no-wait --qr never >"$t/nwt" 2>"$t/nwt.err"
grep -q "To authenticate, visit:" "$t/nwt" || fail "text --no-wait: $(cat "$t/nwt")"
grep -qF "$(jq -r 'select(.type == "auth_url") | .url' "$t/nw")" "$t/nwt" || fail "text --no-wait lacks the URL"
grep -q '█' "$t/nwt.err" && fail "QR code with --qr never"
fake_ctl /state -X GET | jq -e '.state == "NeedsLogin"' >/dev/null || fail "--no-wait changed the state"
stop_fake
echo ok
