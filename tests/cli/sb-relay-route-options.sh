#!/usr/bin/env bash
# The route-options fields sb-relay carries out, through curl: override_address and override_port
# send a connection elsewhere than the client asked (route-options, and the same fields on a route
# action), and the conn record's destination.ip is the address dialled; a socks outbound limited to
# "network": "tcp" refuses UDP, as sing-box does ("outbound does not support network").
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
hp=$HTTP_PORT
# 192.0.2.1 (TEST-NET-1) is never reached: override_address sends it to loopback. Port 9 on
# loopback has no server: override_port sends it to the HTTP server.
cat >"$t/config.json" <<JSON
{
  "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
  "outbounds": [
    {"type": "direct", "tag": "direct"},
    {"type": "socks", "tag": "tcp-only", "server": "127.0.0.1", "server_port": 9, "network": "tcp"}
  ],
  "route": {
    "rules": [
      {"ip_cidr": "192.0.2.1/32", "action": "route-options", "override_address": "127.0.0.1"},
      {"port": 9, "action": "route-options", "override_port": $hp},
      {"domain": "both.test", "action": "route", "outbound": "direct", "override_address": "127.0.0.1", "override_port": $hp},
      {"network": "udp", "outbound": "tcp-only"}
    ],
    "final": "direct"
  }
}
JSON
sb=$(tool sb-route)
"$sb" check -c "$t/config.json" 2>"$t/check.err" || fail "sb-route check: $(cat "$t/check.err")"
[ ! -s "$t/check.err" ] || fail "sb-route check is not silent: $(cat "$t/check.err")"
start_relay r --threads 1 --events close -c "$t/config.json"
p=$RELAY_PORT

get() {  # URL: the body through the relay (socks5h: the relay resolves and routes the name)
  curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "$1" 2>"$t/curl.err" ||
    fail "curl $1: $(cat "$t/curl.err"); relay: $(cat "$t/r.err")"
}
[ "$(get "http://192.0.2.1:$hp/hello.txt")" = "hello from tailbox" ] || fail "override_address: wrong body"
[ "$(get "http://127.0.0.1:9/hello.txt")" = "hello from tailbox" ] || fail "override_port: wrong body"
[ "$(get "http://both.test:9/hello.txt")" = "hello from tailbox" ] || fail "route with override_address and override_port: wrong body"
wait_conns r 3
conn_records r | jq -se '
  map(select(.event == "close")) | length == 3
  and all(.[]; .error == null and .outbound == "direct" and .destination.ip == "127.0.0.1")' >/dev/null ||
  fail "conn records: $(conn_records r)"

# UDP routed to the tcp-only socks outbound: refused, with the reason in the conn record.
python3 - "$p" >"$t/udp.out" 2>"$t/udp.err" <<'PY' || fail "UDP client: $(cat "$t/udp.err")"
import socket, struct, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c.sendall(b"\x05\x01\x00")
assert c.recv(2) == b"\x05\x00"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
c.sendall(b"\x05\x03\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", u.getsockname()[1]))
r = c.recv(10)
assert r[:2] == b"\x05\x00", r
bnd = (socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[8:10])[0])
if bnd[0] == "0.0.0.0":
    bnd = ("127.0.0.1", bnd[1])
u.sendto(b"\x00\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", 53) + b"x", bnd)
c.settimeout(5)
try:
    print("closed" if c.recv(1) == b"" else "open")
except socket.timeout:
    print("open")
PY
wait_conns r 4
conn_records r | jq -se 'map(select(.event == "close" and .outbound == "tcp-only")) | length == 1
  and (.[0].error | test("UDP"))' >/dev/null || fail "UDP through the tcp-only outbound: $(conn_records r)"
echo ok
