#!/usr/bin/env bash
# A rule whose outbound names no outbound: sing-box 1.13 starts and fails each connection that
# rule decides with "outbound not found: TAG". sb-relay starts too, fails exactly those
# connections (SOCKS5 reply 1, general failure; HTTP 502) with that error in the conn record, and
# relays the others.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
cat >"$t/c.json" <<'JSON'
{"inbounds": [{"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": 0}],
 "outbounds": [{"type": "direct", "tag": "direct"}],
 "route": {"rules": [{"domain": "missing.test", "outbound": "nope"},
                     {"domain": "localhost", "outbound": "direct"}],
           "final": "direct"}}
JSON
start_relay r --threads 2 -c "$t/c.json"
p=$RELAY_PORT

# SOCKS5 by hand: the reply code is what the client sees.
python3 - "$p" >"$t/socks" <<'PY' || fail "socks5 exchange: $(cat "$t/socks")"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"\x05\x01\x00"); assert s.recv(2) == b"\x05\x00"
h = b"missing.test"
s.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h + b"\x00\x50")
print(s.recv(2).hex())
PY
[ "$(cat "$t/socks")" = 0501 ] || fail "socks5: want reply 1 (general failure), got $(cat "$t/socks")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$p" "http://missing.test/") || true
[ "$code" = 502 ] || fail "http: want 502, got $code"
# Another rule's connection is relayed as usual.
curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" -o "$t/got" "http://localhost:$HTTP_PORT/hello.txt" ||
  fail "localhost through the relay failed"
cmp -s "$t/got" "$t/www/hello.txt" || fail "localhost: other bytes"
wait_conns r 3
conn_records r | jq -se '[.[] | select(.event == "close" and .error == "outbound not found: nope" and .rule == 0
                          and .outbound == "nope")] | length == 2' >/dev/null ||
  fail "conn records of the missing outbound: $(conn_records r)"
conn_records r | jq -se '[.[] | select(.event == "close" and .error == null and .outbound == "direct")] | length == 1' \
  >/dev/null || fail "conn record of the relayed connection: $(conn_records r)"
echo ok
