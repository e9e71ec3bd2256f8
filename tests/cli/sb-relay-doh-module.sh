#!/usr/bin/env bash
# DNS over HTTPS lives in sb-relay-doh.so, which sb-relay dlopen()s on the first DoH query
# (libcommon/net/doh_module.hpp), so sb-relay itself maps neither cpp-httplib nor OpenSSL at idle.
# Covered: sb-relay's ELF needs none of libssl, libcrypto, libcpp-httplib, and the module is built
# beside it; copied alone into a directory without the module, sb-relay still resolves over UDP,
# and each DoH query fails the connection (the SOCKS5 request is refused: curl exit 97) with one
# conn record error line naming sb-relay-doh.so, while sb-relay keeps serving; the failure is kept
# (a module that appears later is not loaded); installed (cmake --install into a DESTDIR), sb-relay
# finds the module in ../lib/tailbox and DoH answers. sb-relay-dns.sh covers DoH itself.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/relay-lib.sh"
command -v openssl >/dev/null || skip "openssl missing"
command -v readelf >/dev/null || skip "readelf missing (binutils)"
built=$relay
module=$(dirname "$built")/sb-relay-doh.so

# The ELF: DoH's libraries are the module's, not sb-relay's.
readelf -d "$built" >"$t/needed" || fail "readelf -d $built failed"
grep -q NEEDED "$t/needed" || fail "readelf -d shows no NEEDED entry in $built: the check is broken"
! grep -E 'NEEDED.*(libssl|libcrypto|libcpp-httplib)' "$t/needed" ||
  fail "sb-relay needs DoH's libraries itself: $(grep -E 'libssl|libcrypto|libcpp-httplib' "$t/needed" | tr -s ' ')"
[ -f "$module" ] || fail "no $module beside sb-relay (the build makes it with sb-relay)"
readelf -d "$module" | grep -q 'NEEDED.*libcpp-httplib' || fail "$module does not need libcpp-httplib: $(readelf -d "$module")"

start_http 0.0.0.0  # the marker 127.0.0.2 is where connections go
hp=$HTTP_PORT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$t/doh.key" -out "$t/doh.crt" 2>"$t/openssl.err" || fail "openssl: $(cat "$t/openssl.err")"
python3 -u "$here/dns-responder.py" --marker 127.0.0.2 --cert "$t/doh.crt" --key "$t/doh.key" >"$t/dns.log" 2>"$t/dns.err" &
track_pid $!
wait_for 10 grep -q '^ready' "$t/dns.log"
udp=$(sed -n '1s/.*udp=\([0-9]*\).*/\1/p' "$t/dns.log")
https=$(sed -n '1s/.*https=\([0-9]*\).*/\1/p' "$t/dns.log")

# Names under doh.test go to the https server, the rest to the udp one: one responder, both ways.
cat >"$t/c.json" <<JSON
{"inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
 "outbounds": [{"type": "direct", "tag": "direct"}],
 "route": {"final": "direct", "default_domain_resolver": "u", "rules": [{"action": "resolve"}]},
 "dns": {"final": "u", "rules": [{"domain_suffix": ["doh.test"], "server": "h"}],
  "servers": [{"type": "udp", "tag": "u", "server": "127.0.0.1", "server_port": $udp},
   {"type": "https", "tag": "h", "server": "127.0.0.1", "server_port": $https,
    "tls": {"enabled": true, "certificate_path": "$t/doh.crt"}}]}}
JSON
fetch() {  # fetch NAME HOST → curl's exit status; the body in $t/body
  local rc=0
  curl -sS --max-time 15 -o "$t/body" --proxy "socks5h://127.0.0.1:$RELAY_PORT" "http://$2:$hp/hello.txt" 2>"$t/curl.err" || rc=$?
  return "$rc"
}
expect_ok() {  # expect_ok NAME HOST SERVER
  local n rc=0
  n=$(conn_records "$1" | grep -c '"event":"close"' || true)
  fetch "$1" "$2" || rc=$?
  [ "$rc" = 0 ] && [ "$(cat "$t/body")" = "hello from tailbox" ] ||
    fail "$1: $2: curl exit $rc: $(cat "$t/curl.err"); relay: $(cat "$t/$1.err")"
  wait_conns "$1" $((n + 1))
  conn_records "$1" | grep '"event":"close"' | tail -1 |
    jq -e --arg s "$3" '.destination.ip == "127.0.0.2" and .dns_server == $s and .error == null' >/dev/null ||
    fail "$1: $2 should be resolved by $3: $(conn_records "$1" | tail -1)"
}
expect_no_module() {  # expect_no_module NAME HOST: the connection fails, its record says why in one line
  local n rc=0 rec
  n=$(conn_records "$1" | grep -c '"event":"close"' || true)
  fetch "$1" "$2" || rc=$?
  [ "$rc" = 97 ] || fail "$1: $2: curl should fail with 97 (SOCKS5 request refused), got $rc: $(cat "$t/curl.err")"
  wait_conns "$1" $((n + 1))
  rec=$(conn_records "$1" | grep '"event":"close"' | tail -1)
  jq -e '.destination.ip == null and (.error | test("^[^\n]*https 127\\.0\\.0\\.1: DNS over HTTPS needs sb-relay-doh\\.so, which could not be loaded: [^\n]*sb-relay-doh\\.so[^\n]*$"))' \
    <<<"$rec" >/dev/null || fail "$1: $2: the record should say sb-relay-doh.so could not be loaded: $rec"
}

# Alone: no module beside it, none in ../lib/tailbox.
mkdir -p "$t/alone/bin"
cp "$built" "$t/alone/bin/sb-relay"
relay=$t/alone/bin/sb-relay
start_relay alone --threads 1 -c "$t/c.json"
expect_ok alone a.test u
expect_no_module alone x.doh.test
expect_ok alone b.test u
# The failure is kept: a module that turns up now is not loaded (no dlopen per query).
cp "$module" "$t/alone/bin/"
expect_no_module alone y.doh.test
kill -0 "$RELAY_PID" 2>/dev/null || fail "sb-relay without its module died: $(cat "$t/alone.err")"
[ ! -s "$t/alone.err" ] || fail "sb-relay wrote to stderr: $(cat "$t/alone.err")"
kill -TERM "$RELAY_PID"
wait_exit "$RELAY_PID" 0 10 "sb-relay without its module" "$t/alone.err"
grep -q '^https ' "$t/dns.log" && fail "the DoH server was asked though the module was missing: $(cat "$t/dns.log")"

# Now it is there from the start (beside the executable, as in the build tree).
start_relay beside --threads 1 -c "$t/c.json"
expect_ok beside z.doh.test h
grep -q '^https z.doh.test 1$' "$t/dns.log" || fail "the DoH server was not asked: $(cat "$t/dns.log")"
kill -TERM "$RELAY_PID"
wait_exit "$RELAY_PID" 0 10 "sb-relay with its module beside it" "$t/beside.err"

# Installed: bin/sb-relay finds lib/tailbox/sb-relay-doh.so.
build=$(cd "$TB_BIN/.." && pwd)
[ -f "$build/cmake_install.cmake" ] || skip "no install script in $build (the rest passed)"
DESTDIR=$t/root cmake --install "$build" --prefix /opt/tb >"$t/install.log" 2>&1 || fail "install failed: $(tail -3 "$t/install.log")"
[ -f "$t/root/opt/tb/lib/tailbox/sb-relay-doh.so" ] || fail "sb-relay-doh.so not installed to lib/tailbox: $(grep -i doh "$t/install.log")"
[ ! -e "$t/root/opt/tb/bin/sb-relay-doh.so" ] || fail "sb-relay-doh.so installed to bin/"
relay=$t/root/opt/tb/bin/sb-relay
start_relay installed --threads 1 -c "$t/c.json"
expect_ok installed w.doh.test h
kill -TERM "$RELAY_PID"
wait_exit "$RELAY_PID" 0 10 "the installed sb-relay" "$t/installed.err"
echo ok
