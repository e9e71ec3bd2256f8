#!/usr/bin/env bash
# SOCKS5 UDP ASSOCIATE through sb-relay to a real UDP echo server on 127.0.0.1 (python3): the
# datagram comes back with its SOCKS5 UDP header, and the association ends as a conn record with
# protocol socks5-udp.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"

# UDP echo: prints its port once bound, then echoes every datagram (bounded life: 60 s).
python3 -u - >"$t/echo.out" 2>"$t/echo.err" <<'PY' &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(1)
end = time.time() + 60
while time.time() < end:
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    s.sendto(d, a)
PY
echo_pid=$!
track_pid "$echo_pid"
wait_for 10 grep -q '^[0-9]' "$t/echo.out"
uport=$(head -1 "$t/echo.out")

start_relay r --threads 1 --events close -c "$TB_FIXTURES/relay/direct.json"
p=$RELAY_PORT

# SOCKS5 UDP client: greeting, UDP ASSOCIATE, one datagram to the echo, its answer, then close the
# TCP control connection (which ends the association). Prints "reply ATYP HOST PORT PAYLOAD".
python3 - "$p" "$uport" >"$t/client.out" 2>"$t/client.err" <<'PY' || fail "UDP client: $(cat "$t/client.err") relay: $(cat "$t/r.err")"
import socket, struct, sys
rp, up = int(sys.argv[1]), int(sys.argv[2])
c = socket.create_connection(("127.0.0.1", rp), timeout=5)
c.sendall(b"\x05\x01\x00")
assert c.recv(2) == b"\x05\x00", "greeting refused"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.settimeout(5)
c.sendall(b"\x05\x03\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", u.getsockname()[1]))
r = b""
while len(r) < 10:
    d = c.recv(10 - len(r))
    assert d, "relay closed during UDP ASSOCIATE (got %r)" % r
    r += d
assert r[:2] == b"\x05\x00" and r[3] == 1, "UDP ASSOCIATE reply %r" % r
bnd = (socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[8:10])[0])
if bnd[0] == "0.0.0.0":
    bnd = ("127.0.0.1", bnd[1])
payload = b"tailbox udp \x00\xff payload"
hdr = b"\x00\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", up)
u.sendto(hdr + payload, bnd)
d, a = u.recvfrom(65535)
assert a == bnd, "answer from %r, relay said %r" % (a, bnd)
assert d[:3] == b"\x00\x00\x00", "bad UDP header %r" % d[:10]
assert d[3] == 1, "ATYP %d" % d[3]
src = (socket.inet_ntoa(d[4:8]), struct.unpack(">H", d[8:10])[0])
print("reply", d[3], src[0], src[1], d[10:].hex())
c.close()
PY
read -r word atyp host port hex <"$t/client.out" || fail "client output: $(cat "$t/client.out")"
[ "$word" = reply ] && [ "$atyp" = 1 ] || fail "client output: $(cat "$t/client.out")"
[ "$host:$port" = "127.0.0.1:$uport" ] || fail "echo answer says it came from $host:$port, want 127.0.0.1:$uport"
want=$(printf 'tailbox udp \0\377 payload' | od -An -tx1 | tr -d ' \n')
[ "$hex" = "$want" ] || fail "payload: got $hex, want $want"

wait_conns r 1
conn_records r | jq -se --argjson up "$uport" '
  map(select(.event == "close" and .protocol == "socks5-udp")) as $u
  | ($u | length) == 1
  and $u[0].inbound == "mixed-in" and $u[0].outbound == "direct" and $u[0].action == "route"
  and $u[0].error == null
  and $u[0].destination.port == $up and ($u[0].destination.host == "127.0.0.1" or $u[0].destination.ip == "127.0.0.1")
  and $u[0].bytes_up >= 22 and $u[0].bytes_down >= 22' >/dev/null ||
  fail "conn record for the association: $(conn_records r)"
echo ok
