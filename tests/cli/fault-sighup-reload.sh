#!/usr/bin/env bash
# Fault-ish: SIGHUP to a standalone sb-relay (man/sb-relay.1, SIGNALS: "SIGHUP reloads the config in
# standalone mode"), e.g. from a config-management tool, repeatedly and with a broken config.
# Expected: sb-relay never dies of SIGHUP; after a SIGHUP it says "SIGHUP: config reloaded" and new
# connections follow the new config (a domain it now rejects gets SOCKS5 reply 2); a SIGHUP with a
# broken config keeps the running one (one stderr line); 20 SIGHUPs in a row leave it serving.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
sed 's#^ *//.*##' "$TB_FIXTURES/relay/direct.json" >"$t/config.json"
start_relay r --threads 2 --events close -c "$t/config.json"
p=$RELAY_PORT
get() { curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "http://$1:$HTTP_PORT/hello.txt"; }
[ "$(get localhost)" = "hello from tailbox" ] || fail "the relay does not serve before the reload"
alive() { kill -0 "$RELAY_PID" 2>/dev/null || { rc=0; wait "$RELAY_PID" || rc=$?; fail "sb-relay died on SIGHUP (exit $rc$([ "$rc" = 129 ] && echo ': killed by SIGHUP, some thread does not block it'))"; }; }
# The new config rejects localhost.
jq '.route.rules = [{"domain": "localhost", "action": "reject"}] + .route.rules' "$t/config.json" >"$t/new.json"
cp "$t/new.json" "$t/config.json"
reloaded_or_dead() { ! kill -0 "$RELAY_PID" 2>/dev/null || [ "$(grep -c "SIGHUP: config reloaded" "$t/r.err")" -ge "$1" ]; }
kill -HUP "$RELAY_PID"
wait_for 10 reloaded_or_dead 1
alive
grep -q "SIGHUP: config reloaded" "$t/r.err" || fail "no reload message: $(cat "$t/r.err")"
rc=0; get localhost >/dev/null 2>"$t/e" || rc=$?
[ "$rc" != 0 ] && grep -q "(2)" "$t/e" || fail "after the reload localhost should be rejected (reply 2): rc $rc $(cat "$t/e")"
# A broken config: the running one stays.
echo '{ not json' >"$t/config.json"
kill -HUP "$RELAY_PID"
kept_or_dead() { ! kill -0 "$RELAY_PID" 2>/dev/null || grep -q "keeping the running config" "$t/r.err"; }
wait_for 10 kept_or_dead
alive
rc=0; get localhost >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a broken config replaced the running one"
[ "$(get 127.0.0.1)" = "hello from tailbox" ] || fail "direct traffic after a broken reload"
# A burst.
cp "$t/new.json" "$t/config.json"
for i in $(seq 1 20); do kill -HUP "$RELAY_PID" 2>/dev/null || break; done
wait_for 10 reloaded_or_dead 2
alive
[ "$(get 127.0.0.1)" = "hello from tailbox" ] || fail "the relay does not serve after 20 SIGHUPs"
echo ok
