#!/usr/bin/env bash
# Fault: the upstream server resets connections (it reads the request, then closes with SO_LINGER 0:
# a TCP RST) — through a SOCKS5 CONNECT, an HTTP CONNECT and an HTTP absolute-URI request.
# Expected: the client sees an error (tunnels: the reset passed on, curl exit 56; HTTP forwarding:
# a 502), sb-relay writes one conn record per connection with a non-null error ("reset by
# upstream" for tunnels), stays up, and serves the next, healthy request.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
python3 -u - >"$t/rst.out" 2>&1 <<'PY' &
import socket, struct
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print("port", s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    try:
        c.recv(65536)
    except OSError:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
rst_pid=$!; track_pid "$rst_pid"
wait_for 10 grep -q '^port ' "$t/rst.out"
rport=$(awk '{print $2}' "$t/rst.out")
start_relay r --threads 2 --events close -c "$TB_FIXTURES/relay/direct.json"
p=$RELAY_PORT
rc=0; curl -sS --max-time 10 --proxy "socks5://127.0.0.1:$p" "http://127.0.0.1:$rport/" >/dev/null 2>"$t/c1" || rc=$?
[ "$rc" = 56 ] || fail "socks5 through a resetting upstream: curl exit $rc, want 56 (reset): $(cat "$t/c1")"
rc=0; curl -sS --max-time 10 -p --proxy "http://127.0.0.1:$p" "http://127.0.0.1:$rport/" >/dev/null 2>"$t/c2" || rc=$?
[ "$rc" = 56 ] || fail "http CONNECT through a resetting upstream: curl exit $rc, want 56: $(cat "$t/c2")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$p" "http://127.0.0.1:$rport/") || true
[ "$code" = 502 ] || fail "http forwarding through a resetting upstream: status $code, want 502"
wait_conns r 3
conn_records r | jq -se 'length == 3 and all(.error != null)' >/dev/null || fail "conn records: $(conn_records r)"
conn_records r | jq -se 'map(select(.protocol == "socks5" or .protocol == "http-connect")) | length == 2 and all(.error == "reset by upstream")' >/dev/null ||
  fail "tunnel records should say reset by upstream: $(conn_records r)"
kill -0 "$RELAY_PID" || fail "sb-relay died"
[ "$(curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "http://127.0.0.1:$HTTP_PORT/hello.txt")" = "hello from tailbox" ] ||
  fail "the relay does not serve after the resets"
echo ok
