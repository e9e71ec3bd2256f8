#!/usr/bin/env bash
# Every protected socket, not only TCP dials: SOCKS5 UDP ASSOCIATE traffic and DNS queries go
# through the same protection path (libcommon/net/protect.hpp). With tailscaled's exit-node route
# in table 52, only a socket marked by the protect server (tests/net/protect-server.py, 0x80000)
# reaches the inet namespace; anything unprotected is lost in the tunnel.
#   - UDP: a datagram through UDP ASSOCIATE to an echo server on 198.18.0.2:9999 comes back; the
#     protect server saw a SOCK_DGRAM descriptor.
#   - DNS: dns.servers has one udp server, 198.18.0.2:53 (a small responder here), with the same
#     protect_path, and route.default_domain_resolver names it; a name only it knows resolves, and
#     the connection to its address works. The protect server saw the query's socket.
#   - Without the protect server both fail cleanly, and nothing enters the tunnel.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/node-relay-lib.sh"

PSOCK=$t/protect.sock
cat >"$t/config.json" <<JSON
{
  "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "protected", "protect_path": "$PSOCK", "connect_timeout": "2s"}],
  "dns": {"servers": [{"type": "udp", "tag": "wan-dns", "server": "$INET4", "protect_path": "$PSOCK"}]},
  "route": {"default_domain_resolver": "wan-dns"}
}
JSON
"$(tool sb-route)" check -c "$t/config.json" >/dev/null || fail "the test's config does not pass sb-route check"

tailnet_up
# UDP echo and a DNS responder (A records of far.example. and its AAAA as empty) in the inet namespace.
ip netns exec "$NS_INET" python3 -u - "$INET4" >"$t/udp.log" 2>"$t/udp.err" <<'PY' &
import json, socket, struct, sys, threading
addr = sys.argv[1]
def echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, 9999))
    while True:
        d, a = s.recvfrom(65535); s.sendto(d, a)
        print(json.dumps({"type": "echo", "client": a[0]}), flush=True)
def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, 53))
    while True:
        q, a = s.recvfrom(512)
        i, n = 12, []
        while q[i]:
            n.append(q[i + 1:i + 1 + q[i]].decode()); i += 1 + q[i]
        qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
        name = ".".join(n).lower()
        known = name == "far.example"
        ans = b""
        if known and qtype == 1:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        flags = 0x8180 if known else 0x8183
        r = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if ans else 0, 0, 0) + q[12:i + 5] + ans
        s.sendto(r, a)
        print(json.dumps({"type": "dns", "name": name, "qtype": qtype, "client": a[0]}), flush=True)
threading.Thread(target=echo, daemon=True).start()
threading.Thread(target=dns, daemon=True).start()
print(json.dumps({"type": "ready"}), flush=True)
threading.Event().wait()
PY
track_pid $!
wait_for 10 grep -q '"type": "ready"' "$t/udp.log"

ip -n "$NS_NODE" route add default dev tailscale0 table 52
wg_ns "$NS_NODE" set tailscale0 peer "$PEER_PUB" allowed-ips "$PEER4/32,$PEER6/128,0.0.0.0/0,::/0"
watch_tun
# The watch sees what an unprotected socket sends: the control for every "nothing leaked" below.
! in_ns "$NS_NODE" curl -s --max-time 1 -o /dev/null "http://$INET4:8080/" || fail "an unprotected curl reached $INET4"
wait_for 5 test "$(tun_leaks "$INET4")" -gt 0

start_protect_server() {
  python3 -u "$here/protect-server.py" "$PSOCK" 0x80000 >"$t/protect.log" 2>"$t/protect.err" &
  PROTECT_PID=$!
  track_pid "$PROTECT_PID"
  wait_for 10 grep -q '"type": "ready"' "$t/protect.log"
}
start_protect_server
node_relay -c "$t/config.json"

# SOCKS5 UDP ASSOCIATE: one datagram to the echo, its answer (prints "ok" or why not).
udp_roundtrip() {
  in_ns "$NS_NODE" python3 - "$INET4" <<'PY'
import socket, struct, sys
c = socket.create_connection(("127.0.0.1", 1080), timeout=5)
c.sendall(b"\x05\x01\x00"); assert c.recv(2) == b"\x05\x00"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); u.settimeout(3)
c.sendall(b"\x05\x03\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", u.getsockname()[1]))
r = c.recv(10); assert r[:2] == b"\x05\x00", r
bnd = (socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[8:10])[0])
u.sendto(b"\x00\x00\x00\x01" + socket.inet_aton(sys.argv[1]) + struct.pack(">H", 9999) + b"protected udp", bnd)
try:
    d, _ = u.recvfrom(65535)
    print("ok" if d.endswith(b"protected udp") else "bad %r" % d)
except socket.timeout:
    print("timeout")
c.close()
PY
}

p0=$(tun_leaks "$INET4")
[ "$(udp_roundtrip)" = ok ] || fail "UDP through a protected outbound: no echo; relay: $(tail -5 "$RELAY_ERR")"
grep '"type": "protected"' "$t/protect.log" | jq -s -e 'any(.[]; .kind == "SOCK_DGRAM")' >/dev/null ||
  fail "the UDP socket was not given to the protect server: $(cat "$t/protect.log")"
[ "$(grep -c '"type": "echo"' "$t/udp.log")" = 1 ] && grep '"type": "echo"' "$t/udp.log" | jq -e '.client == "198.18.0.1"' >/dev/null ||
  fail "echo server: $(cat "$t/udp.log")"
echo "ok UDP ASSOCIATE: echoed from 198.18.0.2, its socket protected"

get "http://far.example:8080/" || fail "DNS through a protected server: $(cat "$t/curl.err"); relay: $(tail -5 "$RELAY_ERR")"
[ "$BODY" = "inet saw 198.18.0.1" ] || fail "DNS through a protected server: '$BODY' $CONN"
grep '"type": "dns"' "$t/udp.log" | jq -s -e 'any(.[]; .name == "far.example" and .qtype == 1 and .client == "198.18.0.1")' >/dev/null ||
  fail "the responder did not see the query from 198.18.0.1: $(cat "$t/udp.log")"
[ "$(grep '"type": "protected"' "$t/protect.log" | jq -s '[.[] | select(.kind == "SOCK_DGRAM")] | length')" -ge 2 ] ||
  fail "the DNS query's socket was not given to the protect server: $(cat "$t/protect.log")"
p1=$(tun_leaks "$INET4")
[ "$p1" = "$p0" ] || fail "protected UDP and DNS entered the tunnel: packets to $INET4 into tailscale0 $p0→$p1"
echo "ok DNS: far.example resolved by 198.18.0.2 through a protected socket; nothing into tailscale0"

# Without the protect server: both fail, nothing leaks.
kill "$PROTECT_PID"
wait "$PROTECT_PID" 2>/dev/null || true
rm -f "$PSOCK"
necho=$(grep -c '"type": "echo"' "$t/udp.log")
ndns=$(grep -c '"type": "dns"' "$t/udp.log")
p0=$(tun_leaks "$INET4")
[ "$(udp_roundtrip)" = timeout ] || fail "UDP without the protect server was answered"
! get "http://far2.example:8080/" || fail "DNS without the protect server: the request went through"
[[ $(conn_field .error) == *"protect_path $PSOCK: connect: "* ]] || fail "DNS without the protect server: $CONN"
p1=$(tun_leaks "$INET4")
[ "$p1" = "$p0" ] || fail "unprotected UDP or DNS leaked into the tunnel: packets to $INET4 into tailscale0 $p0→$p1"
[ "$(grep -c '"type": "echo"' "$t/udp.log")" = "$necho" ] && [ "$(grep -c '"type": "dns"' "$t/udp.log")" = "$ndns" ] ||
  fail "a datagram reached the inet namespace without protection: $(cat "$t/udp.log")"
grep '"type":"conn"' "$PROXY_OUT" | jq -s -e 'any(.[]; .protocol == "socks5-udp" and (.error // "" | test("protect_path")))' >/dev/null ||
  fail "the UDP association's conn record does not carry the protection error: $(grep '"type":"conn"' "$PROXY_OUT")"
echo "ok without the protect server: $(conn_field .error); nothing into tailscale0"
