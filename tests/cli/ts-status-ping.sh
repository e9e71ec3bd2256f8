#!/usr/bin/env bash
# ts-status ping PEER against the fake: the Local API ping as tailscale sends it (POST, ip, size=0,
# type), one line or v1 ping record per attempt with latency and path (DERP region, direct
# endpoint), --until-direct, and the exit codes: 0 a pong, 1 no reply / not running / never
# direct, 65 no such peer, 2 usage, 69 no daemon, 77 access denied.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
start_fake --generate-peers 3

# A DERP pong, by name: text, then records.
out=$("$ts" --socket "$FAKE_SOCK" ping peer1 --count 2 --interval 0) || fail "ping peer1 exited $?"
[ "$(grep -c '^pong from peer1 (100.64.0.2) via DERP([a-z]*) in [0-9.]*ms$' <<<"$out")" = 2 ] || fail "text: $out"
jq -se '[.[] | select(.path == "/localapi/v0/ping")][0] | .method == "POST" and .query == {"ip": "100.64.0.2", "size": "0", "type": "disco"}' \
  "$FAKE_LOG" >/dev/null || fail "the request is not tailscale's: $(grep ping "$FAKE_LOG" | head -1)"
rec=$("$ts" --socket "$FAKE_SOCK" ping peer1.tail1234.ts.net. --count 1 --json) || fail "ping --json exited $?"
jq -e '.v == 1 and .type == "ping" and .seq == 1 and .peer == "peer1" and .ip == "100.64.0.2" and .path == "relay"
       and (.derp_region | type) == "string" and .endpoint == null and .error == null and .latency_seconds > 0' <<<"$rec" >/dev/null ||
  fail "ping record: $rec"

# --until-direct: a relayed peer never gets there (exit 1, after --count); a direct one stops at once.
expect_exit 1 "$ts" --socket "$FAKE_SOCK" ping peer1 --count 2 --interval 0 --until-direct >/dev/null 2>"$t/err"
grep -q "direct connection to peer1 not established" "$t/err" || fail "until-direct message: $(cat "$t/err")"
fake_ctl /action -d '{"peer":{"name":"peer2","direct":"198.51.100.7:41641"}}' >/dev/null
rec=$("$ts" --socket "$FAKE_SOCK" ping 100.64.0.3 --count 5 --until-direct --json) || fail "until-direct, direct peer: exit $?"
[ "$(wc -l <<<"$rec")" = 1 ] || fail "did not stop at the first direct pong: $rec"
jq -e '.path == "direct" and .endpoint == "198.51.100.7:41641" and .derp_region == null' <<<"$rec" >/dev/null || fail "direct: $rec"

# No reply: an offline peer answers Err "timeout" every time → exit 1, records carry the error.
fake_ctl /action -d '{"peer":{"name":"peer3","online":false}}' >/dev/null
rc=0; out=$("$ts" --socket "$FAKE_SOCK" ping peer3 --count 2 --interval 0 --json 2>"$t/err") || rc=$?
[ "$rc" = 1 ] || fail "offline peer: exit $rc"
jq -se 'length == 2 and all(.[]; .error == "timeout" and .latency_seconds == null and .path == null)' <<<"$out" >/dev/null ||
  fail "offline records: $out"
grep -q "no reply from peer3" "$t/err" || fail "no-reply message: $(cat "$t/err")"
# A ping the daemon does not answer within --timeout is the same (the fake is slowed down).
fake_ctl /action -d '{"fault":{"kind":"slow","ms":1500,"path":"ping"}}' >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" ping peer1 --count 1 --timeout 300ms >/dev/null 2>&1

# Errors.
expect_exit 65 "$ts" --socket "$FAKE_SOCK" ping nosuchpeer --count 1 2>"$t/err"
grep -q 'no peer named "nosuchpeer"' "$t/err" || fail "65 message: $(cat "$t/err")"
expect_exit 2 "$ts" --socket "$FAKE_SOCK" ping 2>/dev/null
expect_exit 2 "$ts" --socket "$FAKE_SOCK" ping peer1 --type bogus 2>/dev/null
fake_ctl /action -d '{"permissions":"none"}' >/dev/null
expect_exit 77 "$ts" --socket "$FAKE_SOCK" ping peer1 --count 1 2>/dev/null
fake_ctl /action -d '{"permissions":"rw","state":"Stopped"}' >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" ping peer1 --count 1 2>"$t/err"
grep -q "not running (state: stopped)" "$t/err" || fail "stopped: $(cat "$t/err")"
stop_fake
expect_exit 69 "$ts" --socket "$FAKE_SOCK" ping peer1 --count 1 2>/dev/null
echo ok
