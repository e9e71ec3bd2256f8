#!/usr/bin/env bash
# sb-relay resolves names with the configured DNS servers (docs/singbox.md, "DNS"), never with
# getaddrinfo once dns.servers is set. Three responders (tests/cli/dns-responder.py) answer every
# A question with their own marker address in 127/8, so the address a connection went to (and the
# conn record's destination.ip) names the server that answered; the record's dns_server names it
# too. Covered: udp, tcp, https (DoH, a self-signed certificate given as tls.certificate_path) and
# hosts (predefined) servers; negative answers cached by their SOA, not when ip_accept_any rejects
# them; an outbound's domain_resolver; route.default_domain_resolver; the
# resolve action with and without a server (without: the DNS rules choose, dns.final otherwise);
# DNS rule actions route, route-options (strategy), reject and predefined; ip_accept_any; a DoH reply
# over 65535 bytes refused, one that drips cut off at 10 s, and at most 128 DoH queries in flight;
# NXDOMAIN failing the
# connection without a fallback; hijack-dns on TCP and UDP; and `sb-route check` refusing
# server types tailbox cannot carry.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/relay-lib.sh"
command -v openssl >/dev/null || skip "openssl missing"
sb=$(tool sb-route)

# The web server on every 127/8 address: the markers are where connections go.
(cd "$t/www" && exec python3 -u -m http.server 0 --bind 0.0.0.0) >"$t/http.log" 2>&1 &
track_pid $!
wait_for 10 grep -q "port [0-9]" "$t/http.log"
hp=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$t/http.log" | head -1)

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$t/doh.key" -out "$t/doh.crt" 2>"$t/openssl.err" || fail "openssl: $(cat "$t/openssl.err")"

start_responder() {  # start_responder NAME MARKER [ARGS] → sets <NAME>_UDP <NAME>_TCP <NAME>_HTTPS
  python3 -u "$here/dns-responder.py" --marker "$2" --nxdomain nx.test "${@:3}" >"$t/$1.log" 2>"$t/$1.err" &
  track_pid $!
  wait_for 10 grep -q '^ready' "$t/$1.log"
  local line
  line=$(head -1 "$t/$1.log")
  eval "${1}_UDP=$(sed 's/.*udp=\([0-9]*\).*/\1/' <<<"$line")"
  eval "${1}_TCP=$(sed 's/.*tcp=\([0-9]*\).*/\1/' <<<"$line")"
  eval "${1}_HTTPS=$(sed 's/.*https=\([0-9]*\).*/\1/' <<<"$line")"
}
start_responder U 127.0.0.2
start_responder T 127.0.0.3
start_responder H 127.0.0.4 --cert "$t/doh.crt" --key "$t/doh.key" --huge huge.test --drip drip.test \
  --drip-head drip-head.test --hangup hangup.test \
  --drop-kept drop-kept.test
start_responder N 127.0.0.7 --soa 30 --nxdomain gone.test

servers='{"type": "udp", "tag": "u", "server": "127.0.0.1", "server_port": '$U_UDP'},
  {"type": "tcp", "tag": "t", "server": "127.0.0.1", "server_port": '$T_TCP'},
  {"type": "https", "tag": "h", "server": "127.0.0.1", "server_port": '$H_HTTPS',
   "tls": {"enabled": true, "certificate_path": "'$t/doh.crt'"}},
  {"type": "hosts", "tag": "hosts", "predefined": {"pinned.test": ["127.0.0.5"]}},
  {"type": "udp", "tag": "n", "server": "127.0.0.1", "server_port": '$N_UDP'}'

config() {  # config NAME DIRECT_EXTRA ROUTE_EXTRA DNS_EXTRA
  cat >"$t/$1.json" <<JSON
{"inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
 "outbounds": [{"type": "direct", "tag": "direct"$2}],
 "route": {"final": "direct"$3},
 "dns": {"servers": [$servers]$4}}
JSON
  "$sb" check -c "$t/$1.json" >/dev/null 2>"$t/$1.check" || fail "$1: sb-route check refused it: $(cat "$t/$1.check")"
  start_relay "$1" --threads 1 -c "$t/$1.json"
}
fetch() {  # fetch NAME HOST → the body into $t/body; curl's status
  local rc=0
  curl -sS --max-time 15 -o "$t/body" --proxy "socks5h://127.0.0.1:$RELAY_PORT" "http://$2:$hp/hello.txt" 2>"$t/curl.err" || rc=$?
  return "$rc"
}
last_conn() { conn_records "$1" | grep '"event":"close"' | tail -1; }
expect() {  # expect NAME HOST MARKER SERVER: fetched through MARKER, resolved by SERVER
  local n
  n=$(conn_records "$1" | grep -c '"event":"close"' || true)
  fetch "$1" "$2" || fail "$1: $2: request failed: $(cat "$t/curl.err"); relay: $(cat "$t/$1.err")"
  [ "$(cat "$t/body")" = "hello from tailbox" ] || fail "$1: $2: body $(cat "$t/body")"
  wait_conns "$1" $((n + 1))
  last_conn "$1" | jq -e --arg ip "$3" --arg s "$4" '.destination.ip == $ip and .dns_server == $s and .error == null' >/dev/null ||
    fail "$1: $2 should go to $3 resolved by $4: $(last_conn "$1")"
}
expect_failure() {  # expect_failure NAME HOST PATTERN: the connection fails, its record's error matches
  local n
  n=$(conn_records "$1" | grep -c '"event":"close"' || true)
  ! fetch "$1" "$2" || fail "$1: $2 should have failed, got $(cat "$t/body")"
  wait_conns "$1" $((n + 1))
  last_conn "$1" | jq -e --arg p "$3" '.destination.ip == null and (.error // "" | test($p))' >/dev/null ||
    fail "$1: $2's record should fail with /$3/: $(last_conn "$1")"
}

# An outbound's domain_resolver picks the server; "localhost" too (getaddrinfo would say 127.0.0.1).
config byudp ', "domain_resolver": "u"' ', "default_domain_resolver": "h"' ''
expect byudp a.test 127.0.0.2 u
expect byudp localhost 127.0.0.2 u
grep -q '^udp a.test 1$' "$t/U.log" || fail "the udp responder was not asked over UDP: $(cat "$t/U.log")"
expect_failure byudp www.nx.test 'NXDOMAIN'
config bytcp ', "domain_resolver": {"server": "t", "strategy": "ipv4_only"}' ', "default_domain_resolver": "u"' ''
expect bytcp b.test 127.0.0.3 t
grep -q '^tcp b.test 1$' "$t/T.log" || fail "the tcp responder was not asked over TCP: $(cat "$t/T.log")"
"$sb" explain -c "$t/bytcp.json" "b.test:$hp" | grep -qxF '  dns: server t (domain_resolver of direct)' ||
  fail "sb-route explain should name the server: $("$sb" explain -c "$t/bytcp.json" "b.test:$hp")"
grep -q '^tcp b.test 28$' "$t/T.log" && fail "ipv4_only still asked for AAAA: $(cat "$t/T.log")"
# route.default_domain_resolver when the outbound names none: DoH, POST and GET.
config bydoh '' ', "default_domain_resolver": "h"' ''
expect bydoh c.test 127.0.0.4 h
grep -q '^https c.test 1$' "$t/H.log" || fail "the DoH responder was not asked: $(cat "$t/H.log")"
# DoH connections are kept: after c.test, two more lookups (four queries) open at most one: the
# second of two kept, should c.test's A and AAAA not have overlapped (a new connection per query
# would be four). One the server closed while it was kept (after hangup.test's answers) is not an
# error: the next lookup works.
doh_conns() { grep -c '^https connection from ' "$t/H.log"; }
kept=$(doh_conns)
expect bydoh d.test 127.0.0.4 h
expect bydoh e.test 127.0.0.4 h
[ "$(doh_conns)" -le $((kept + 1)) ] ||
  fail "DoH: two more lookups opened $(($(doh_conns) - kept)) connections, want at most 1: $(cat "$t/H.log")"
expect bydoh www.hangup.test 127.0.0.4 h
expect bydoh f.test 127.0.0.4 h
# A kept connection the server closes as the query arrives: the query is sent again on a new one.
kept=$(doh_conns)
expect bydoh www.drop-kept.test 127.0.0.4 h
[ "$(doh_conns)" -gt "$kept" ] || fail "DoH: drop-kept.test was answered on a kept connection: $(cat "$t/H.log")"
expect bydoh pinned.test 127.0.0.4 h  # hosts is not asked unless chosen
# A DoH reply bigger than any DNS message is refused as it arrives. One that comes a byte every
# half second (about 25 s in all) is cut off at the DNS timeout, 10 s, by the module; one whose
# headers never end, by the session a second later. A and AAAA are asked at once, so either is
# over well within 14 s.
expect_failure bydoh www.huge.test 'https 127.0.0.1: the reply is larger than 65535 bytes'
for name in www.drip.test www.drip-head.test; do
  started=$SECONDS
  if [ "$name" = www.drip.test ]; then want='https 127.0.0.1: timed out while the reply arrived'; else want='https 127.0.0.1: timed out$'; fi
  expect_failure bydoh "$name" "$want"
  [ $((SECONDS - started)) -le 14 ] || fail "$name: the slow DoH server held the connection $((SECONDS - started)) s"
done
# Each DoH query holds a worker thread until the module returns: 80 clients at once for names whose
# headers never end would want 160; past 128 a query fails at once, and sb-relay keeps serving.
python3 - "$RELAY_PORT" >"$t/flood.out" 2>&1 <<'PY' &
import socket, struct, sys, time
port, socks = int(sys.argv[1]), []
for i in range(80):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\x05\x01\x00")
    s.recv(2)
    name = b"c%d.drip-head.test" % i
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", 80))
    socks.append(s)
print("sent", len(socks), flush=True)
time.sleep(30)
PY
flood=$!
track_pid "$flood"
capped() { conn_records bydoh | grep -c 'DNS over HTTPS queries are already in flight' | grep -qv '^0$'; }
wait_for 10 capped || fail "no DoH query was refused past 128 in flight: $(cat "$t/flood.out"); $(conn_records bydoh | tail -2)"
kill "$flood"
kill -0 "$RELAY_PID" || fail "sb-relay died under the DoH flood: $(tail -3 "$t/bydoh.err")"
config byhosts '' ', "default_domain_resolver": "hosts"' ''
expect byhosts pinned.test 127.0.0.5 hosts
expect_failure byhosts other.test 'NXDOMAIN'

# The resolve action: its server, and without one the DNS rules (dns.final when none matches).
rules='"rules": [{"domain": ["named.test"], "action": "resolve", "server": "t"}, {"action": "resolve"}]'
dnsrules=', "final": "u", "rules": [
   {"domain_suffix": ["via-doh.test"], "server": "h"},
   {"domain_suffix": ["v6.test"], "action": "route-options", "strategy": "ipv6_only"},
   {"domain_suffix": ["v6.test", "via-tcp.test"], "server": "t"},
   {"domain": ["blocked.test"], "action": "reject"},
   {"domain": ["fixed.test"], "action": "predefined", "answer": ["fixed.test. IN A 127.0.0.6"]}]'
config rules '' ', "default_domain_resolver": "u", '"$rules" "$dnsrules"
"$sb" explain -c "$t/rules.json" --dns x.via-doh.test=127.0.0.4 "x.via-doh.test:$hp" | grep -qxF '  dns: server h (dns.rules[0])' ||
  fail "sb-route explain: the resolve action asks the DNS rules: $("$sb" explain -c "$t/rules.json" "x.via-doh.test:$hp" 2>&1)"
expect rules named.test 127.0.0.3 t
expect rules x.via-doh.test 127.0.0.4 h
expect rules x.via-tcp.test 127.0.0.3 t
expect rules other.test 127.0.0.2 u
expect rules fixed.test 127.0.0.6 'dns.rules[4]'
expect_failure rules blocked.test 'rejected by dns.rules\[3\]'
expect_failure rules x.v6.test 'no addresses'  # AAAA only: the responder has none
# ip_accept_any: the rule's server answers only when it has an address, else the next rules do.
config acceptany '' ', "default_domain_resolver": "u", "rules": [{"action": "resolve"}]' \
  ', "final": "u", "rules": [{"ip_accept_any": true, "server": "hosts"}, {"domain": ["t.test"], "server": "t"}]'
expect acceptany pinned.test 127.0.0.5 hosts
expect acceptany t.test 127.0.0.3 t
expect acceptany elsewhere.test 127.0.0.2 u
# Negative answers are cached for min(TTL, MINIMUM) of their SOA (client.go): a second lookup of an
# NXDOMAIN name, or of a name whose AAAA answer is empty, does not ask again (N's SOA says 30 s).
config negcache '' ', "default_domain_resolver": "n"' ''
for i in 1 2; do
  expect_failure negcache www.nx.test 'NXDOMAIN'
  expect negcache a.test 127.0.0.7 n
done
for q in 'www.nx.test 1' 'www.nx.test 28' 'a.test 1' 'a.test 28'; do
  [ "$(grep -c "^udp $q\$" "$t/N.log")" = 1 ] ||
    fail "negcache: '$q' was asked $(grep -c "^udp $q\$" "$t/N.log") times, want once: $(cat "$t/N.log")"
done
# An NXDOMAIN that an ip_accept_any rule rejects is not cached (with independent_cache, by server):
# the rule's server is asked again, and the next server answers each time.
config rejected '' ', "default_domain_resolver": "u", "rules": [{"action": "resolve"}]' \
  ', "independent_cache": true, "final": "u", "rules": [{"ip_accept_any": true, "server": "n"}]'
expect rejected www.gone.test 127.0.0.2 u
expect rejected www.gone.test 127.0.0.2 u
[ "$(grep -c '^udp www.gone.test 1$' "$t/N.log")" = 2 ] ||
  fail "rejected: an answer ip_accept_any rejected was cached: $(cat "$t/N.log")"
grep -q '^tcp x.v6.test 28$' "$t/T.log" || fail "route-options strategy ipv6_only was not applied: $(cat "$t/T.log")"
grep -q '^tcp x.v6.test 1$' "$t/T.log" && fail "ipv6_only still asked for A: $(cat "$t/T.log")"
# hijack-dns: DNS queries on a SOCKS5 CONNECT (TCP, length-prefixed) and in a UDP ASSOCIATE to
# port 53 are answered by the DNS router (here the rules: dns.final u, hj6.test by t), never sent on.
config hijack '' ', "default_domain_resolver": "u", "rules": [{"port": [53], "action": "hijack-dns"}]' \
  ', "final": "u", "rules": [{"domain": ["hj6.test"], "server": "t"}]'
ask_socks() {  # ask_socks tcp|udp NAME → the A answer's address (or the rcode) via the relay
  python3 - "$RELAY_PORT" "$1" "$2" <<'PY'
import socket, struct, sys
port, mode, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(
    bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
c = socket.create_connection(("127.0.0.1", port), timeout=10)
c.sendall(b"\x05\x01\x00"); assert c.recv(2) == b"\x05\x00"
dst = b"\x01" + socket.inet_aton("192.0.2.53") + struct.pack("!H", 53)
if mode == "tcp":
    c.sendall(b"\x05\x01\x00" + dst); rep = c.recv(10); assert rep[1] == 0, rep
    c.sendall(struct.pack("!H", len(q)) + q)
    n = struct.unpack("!H", c.recv(2, socket.MSG_WAITALL))[0]; a = c.recv(n, socket.MSG_WAITALL)
else:
    c.sendall(b"\x05\x03\x00\x01\0\0\0\0\0\0"); rep = c.recv(10); assert rep[1] == 0, rep
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(10)
    u.sendto(b"\0\0\0" + dst + q, ("127.0.0.1", struct.unpack("!H", rep[8:10])[0]))
    pkt = u.recv(65535); assert pkt[3:10] == dst, pkt[:10]; a = pkt[10:]
assert a[:2] == b"\x12\x34" and a[2] & 0x80, a
rcode, ancount = a[3] & 15, struct.unpack("!H", a[6:8])[0]
print(socket.inet_ntoa(a[-4:]) if rcode == 0 and ancount else "rcode %d" % rcode)
PY
}
[ "$(ask_socks tcp hj.test)" = 127.0.0.2 ] || fail "hijack-dns over TCP: $(ask_socks tcp hj.test 2>&1)"
[ "$(ask_socks udp hj.test)" = 127.0.0.2 ] || fail "hijack-dns over UDP: $(ask_socks udp hj.test 2>&1)"
[ "$(ask_socks udp hj6.test)" = 127.0.0.3 ] || fail "hijack-dns: the DNS rules did not choose t: $(ask_socks udp hj6.test 2>&1)"
[ "$(ask_socks tcp www.nx.test)" = "rcode 3" ] || fail "hijack-dns: NXDOMAIN expected: $(ask_socks tcp www.nx.test 2>&1)"
grep -q '^udp hj.test 1$' "$t/U.log" || fail "hijack-dns: u was not asked: $(cat "$t/U.log")"

# Server types and keys tailbox cannot carry are refused at check with their path.
refused() {  # refused SERVER_JSON PATH
  printf '{"outbounds": [{"type": "direct", "tag": "d"}], "route": {"default_domain_resolver": "x"}, "dns": {"servers": [%s]}}\n' "$1" >"$t/refused.json"
  expect_exit 78 "$sb" check -c "$t/refused.json" >/dev/null 2>"$t/refused.err" || true
  grep -qF "$2" "$t/refused.err" && grep -q "not supported by tailbox" "$t/refused.err" ||
    fail "check should refuse $1 at $2 as not supported by tailbox: $(cat "$t/refused.err")"
}
refused '{"type": "tls", "tag": "x", "server": "127.0.0.1"}' 'dns.servers[0].type'
refused '{"type": "quic", "tag": "x", "server": "127.0.0.1"}' 'dns.servers[0].type'
refused '{"type": "fakeip", "tag": "x", "inet4_range": "198.18.0.0/15"}' 'dns.servers[0].type'
refused '{"type": "dhcp", "tag": "x"}' 'dns.servers[0].type'
refused '{"type": "https", "tag": "x", "server": "127.0.0.1", "tls": {"alpn": ["h2"]}}' 'dns.servers[0].tls.alpn'
echo ok
