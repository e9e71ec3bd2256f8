#!/usr/bin/env bash
# Permission modes (read-only user, no access at all) and the macOS GUI loopback listener with a
# Basic-auth token.
. "$(dirname "$0")/lib.sh"
start_fake --scenario "$TB_FIXTURES/scenarios/readonly.json" --tcp-port 0 --token 0123456789abcdef0123
want() {  # want CODE BODY curl-args...
  local c=$1 b=$2
  shift 2
  local got
  got=$(code "$@")
  [ "$got" = "$c" ] && [ "$(cat "$t/body")" = "$b" ] || fail "$*: got $got '$(cat "$t/body")', want $c '$b'"
}

# Read-only: reads work, every write is 403 with tailscaled's text.
[ "$(code $api/status)" = 200 ] || fail "read-only status"
[ "$(code $api/prefs)" = 200 ] || fail "read-only prefs GET"
want 403 "prefs write access denied" -X PATCH -d '{}' $api/prefs
want 403 "checkprefs access denied" -X POST -d '{}' $api/check-prefs
want 403 "access denied" -X POST -d '{}' $api/start
want 403 "login access denied" -X POST $api/login-interactive
want 403 "logout access denied" -X POST $api/logout
# Permission is checked before the method (GET start is still "access denied").
want 403 "access denied" $api/start

# No access at all.
fake_ctl '/permissions?mode=none' >/dev/null
want 403 "status access denied" $api/status
want 403 "prefs access denied" $api/prefs
want 403 "whois access denied" "$api/whois?addr=100.64.0.2"
want 403 "watch ipn bus access denied" "$api/watch-ipn-bus?mask=16"
fake_ctl '/permissions?mode=rw' >/dev/null
want 204 "" -X POST -d '{}' $api/start

# Loopback TCP with a token.
[ -n "$FAKE_TCP_PORT" ] || fail "no tcp_port in the ready line"
tcp=http://127.0.0.1:$FAKE_TCP_PORT/localapi/v0/status
c=$(curl -sS -o "$t/body" -w '%{http_code}' "$tcp")
[ "$c" = 401 ] && [ "$(cat "$t/body")" = "auth required" ] || fail "no auth: $c $(cat "$t/body")"
c=$(curl -sS -o "$t/body" -w '%{http_code}' -u :wrongtoken "$tcp")
[ "$c" = 403 ] && [ "$(cat "$t/body")" = "bad password" ] || fail "wrong token: $c $(cat "$t/body")"
c=$(curl -sS -o "$t/body" -w '%{http_code}' -u :0123456789abcdef0123 "$tcp")
[ "$c" = 200 ] && jq -e '.BackendState == "Running"' "$t/body" >/dev/null || fail "good token: $c"
c=$(curl -sS -o "$t/body" -w '%{http_code}' -u :0123456789abcdef0123 -H 'Host: local-tailscaled.sock' "$tcp")
[ "$c" = 200 ] || fail "standard Host over TCP: $c"
c=$(curl -sS -o "$t/body" -w '%{http_code}' -u :0123456789abcdef0123 -H 'Host: evil.example' "$tcp")
[ "$c" = 403 ] || fail "foreign Host over TCP: $c"
jq -s -e 'map(select(.listener == "tcp")) | length >= 4 and all(.[]; (.authorization | type) == "boolean")' "$FAKE_LOG" >/dev/null || fail "tcp log"
grep -q 0123456789abcdef0123 "$FAKE_LOG" && fail "token in the log"
stop_fake
echo ok
