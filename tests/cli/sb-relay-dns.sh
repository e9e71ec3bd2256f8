#!/usr/bin/env bash
# sb-relay resolves names with the configured DNS servers (docs/singbox.md, "DNS"), never with
# getaddrinfo once dns.servers is set. Three responders (tests/cli/dns-responder.py) answer every
# A question with their own marker address in 127/8, so the address a connection went to (and the
# conn record's destination.ip) names the server that answered; the record's dns_server names it
# too. Covered: udp, tcp, https (DoH, a self-signed certificate given as tls.certificate_path) and
# hosts (predefined) servers; an outbound's domain_resolver; route.default_domain_resolver; the
# resolve action with and without a server (without: the DNS rules choose, dns.final otherwise);
# DNS rule actions route, route-options (strategy), reject and predefined; ip_accept_any; NXDOMAIN failing the
# connection without a fallback; and `sb-route check` refusing server types tailbox cannot carry.
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
start_responder H 127.0.0.4 --cert "$t/doh.crt" --key "$t/doh.key"

servers='{"type": "udp", "tag": "u", "server": "127.0.0.1", "server_port": '$U_UDP'},
  {"type": "tcp", "tag": "t", "server": "127.0.0.1", "server_port": '$T_TCP'},
  {"type": "https", "tag": "h", "server": "127.0.0.1", "server_port": '$H_HTTPS',
   "tls": {"enabled": true, "certificate_path": "'$t/doh.crt'"}},
  {"type": "hosts", "tag": "hosts", "predefined": {"pinned.test": ["127.0.0.5"]}}'

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
grep -q '^tcp b.test 28$' "$t/T.log" && fail "ipv4_only still asked for AAAA: $(cat "$t/T.log")"
# route.default_domain_resolver when the outbound names none: DoH, POST and GET.
config bydoh '' ', "default_domain_resolver": "h"' ''
expect bydoh c.test 127.0.0.4 h
grep -q '^https c.test 1$' "$t/H.log" || fail "the DoH responder was not asked: $(cat "$t/H.log")"
expect bydoh pinned.test 127.0.0.4 h  # hosts is not asked unless chosen
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
grep -q '^tcp x.v6.test 28$' "$t/T.log" || fail "route-options strategy ipv6_only was not applied: $(cat "$t/T.log")"
grep -q '^tcp x.v6.test 1$' "$t/T.log" && fail "ipv6_only still asked for A: $(cat "$t/T.log")"
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
