#!/usr/bin/env bash
# Robustness: a client that never finishes its handshake is cut at --handshake-timeout (slowloris);
# beyond --max-connections new clients get a polite refusal in their protocol; an inbound on a
# non-loopback address without users needs --allow-open; SOCKS5 user/password auth.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
start_relay r --threads 1 --handshake-timeout 1 --max-connections 1 -c "$TB_FIXTURES/relay/direct.json"
p=$RELAY_PORT
# Slowloris: half a SOCKS5 greeting, then silence. The relay must close within the timeout.
await_close "$p" 05 8 >"$t/slow.out" &
slow=$!
track_pid "$slow"
wait_for 5 grep -q '"error":"handshake timeout"' "$RELAY_OUT"
wait_exit "$slow" 0 15 "the slowloris client"
read -r state secs <"$t/slow.out"
[ "$state" = closed ] || fail "slowloris connection still open: $(cat "$t/slow.out")"
# Cap: hold one connection open (the slow client again, without timeout pressure: a live tunnel).
python3 - "$p" "$HTTP_PORT" >"$t/hold.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x05\x01\x00"); s.recv(2)
port = int(sys.argv[2])
s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big")); r = s.recv(10)
print("held", r[1], flush=True)
time.sleep(20)
PY
hold=$!
track_pid "$hold"
wait_for 10 grep -q "held 0" "$t/hold.out"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$p" "http://127.0.0.1:$HTTP_PORT/hello.txt") || true
[ "$code" = 503 ] || fail "over the cap, http: want 503, got $code"
rc=0; curl -sS --max-time 10 --proxy "socks5://127.0.0.1:$p" "http://127.0.0.1:$HTTP_PORT/hello.txt" 2>"$t/cap.err" || rc=$?
[ "$rc" != 0 ] || fail "over the cap, socks5: curl succeeded"
wait_for 5 grep -q '"error":"connection limit reached"' "$RELAY_OUT"
kill "$hold"
# Exposure: 0.0.0.0 without users is refused (78) unless --allow-open.
cat >"$t/open.json" <<'JSON'
{"inbounds": [{"type": "mixed", "tag": "open", "listen": "0.0.0.0", "listen_port": 0}]}
JSON
rc=0; "$relay" -c "$t/open.json" </dev/null >/dev/null 2>"$t/open.err" || rc=$?
[ "$rc" = 78 ] && grep -q -- "--allow-open" "$t/open.err" || fail "open inbound: exit $rc, $(cat "$t/open.err")"
# Users: SOCKS5 user/password and HTTP Basic; wrong password refused; the user reaches the record.
cat >"$t/auth.json" <<'JSON'
{"inbounds": [{"type": "mixed", "tag": "auth", "listen": "127.0.0.1", "listen_port": 0,
               "users": [{"username": "alice", "password": "s3cret-pw"}]}]}
JSON
start_relay a -c "$t/auth.json"
pa=$RELAY_PORT
[ "$(curl -sS --max-time 10 --proxy "socks5h://alice:s3cret-pw@127.0.0.1:$pa" "http://127.0.0.1:$HTTP_PORT/hello.txt")" = "hello from tailbox" ] ||
  fail "socks5 auth"
[ "$(curl -sS --max-time 10 --proxy "http://alice:s3cret-pw@127.0.0.1:$pa" "http://127.0.0.1:$HTTP_PORT/hello.txt")" = "hello from tailbox" ] ||
  fail "http basic auth"
rc=0; curl -sS --max-time 10 --proxy "socks5h://alice:wrong@127.0.0.1:$pa" "http://127.0.0.1:$HTTP_PORT/" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "wrong password accepted"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$pa" "http://127.0.0.1:$HTTP_PORT/") || true
[ "$code" = 407 ] || fail "no credentials over http: $code"
wait_conns a 4
conn_records a | jq -se 'map(select(.error == null)) | length == 2 and all(.user == "alice")' >/dev/null || fail "auth records: $(conn_records a)"
! grep -q "s3cret-pw" "$t/a.out" "$t/a.err" || fail "the password leaked into the output"
echo ok
