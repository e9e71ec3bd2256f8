#!/usr/bin/env bash
# routing_mark really marks the direct outbound socket (SO_MARK). In a network namespace made by
# the test, a policy rule ahead of the local table makes packets marked 0x80000 "prohibited"
# (EACCES), so the same request through sb-relay succeeds without a mark, with another mark, and
# fails only when the outbound (or route.default_mark) sets 0x80000.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace and SO_MARK"
command -v ip >/dev/null || skip "ip (iproute2) missing"
ns=tbmark$$
trap 'rc=$?; set +e; ip netns del "$ns" 2>/dev/null; (exit "$rc"); _tb_cleanup' EXIT
ip netns add "$ns" 2>"$t/ns.err" || skip "cannot create a network namespace: $(cat "$t/ns.err")"
ip -n "$ns" link set lo up || fail "lo up in $ns"
# Marked packets are prohibited; the local table moves behind that rule so loopback is affected.
ip -n "$ns" rule add pref 10 fwmark 0x80000/0x80000 prohibit || fail "ip rule add fwmark"
ip -n "$ns" rule add pref 100 lookup local || fail "ip rule add local"
ip -n "$ns" rule del pref 0 || fail "ip rule del pref 0"
# The rule itself works: a socket marked by python is refused, an unmarked one is not.
ip netns exec "$ns" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, 36, 0x80000)  # SO_MARK
try: s.connect(("127.0.0.1", 9)); sys.exit("marked socket connected")
except PermissionError: pass
s = socket.socket()
try: s.connect(("127.0.0.1", 9))
except ConnectionRefusedError: pass
' || fail "the fwmark rule does not behave as expected in $ns"

# http.server inside the namespace.
(cd "$t/www" && exec ip netns exec "$ns" python3 -u -m http.server 0 --bind 127.0.0.1) >"$t/http.log" 2>&1 &
track_pid $!
wait_for 10 grep -q "port [0-9]" "$t/http.log"
hp=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$t/http.log" | head -1)
# sb-relay inside the namespace (start_relay runs $relay; ip netns exec execs, so the PID is the relay's).
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$relay" >"$t/relay-in-ns"
chmod +x "$t/relay-in-ns"
relay=$t/relay-in-ns

config() {  # config NAME OUTBOUND_EXTRA ROUTE_EXTRA
  cat >"$t/$1.json" <<JSON
{"inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
 "outbounds": [{"type": "direct", "tag": "direct"$2}],
 "route": {"final": "direct"$3}}
JSON
}
get() {  # get RELAY_PORT PROXY_SCHEME → curl's exit status; body in $t/body, stderr in $t/curl.err
  local rc=0
  ip netns exec "$ns" curl -sS --max-time 10 -o "$t/body" --proxy "$2://127.0.0.1:$1" "http://127.0.0.1:$hp/hello.txt" 2>"$t/curl.err" || rc=$?
  return "$rc"
}
must_pass() {
  get "$RELAY_PORT" socks5 || fail "$1: request failed: $(cat "$t/curl.err"); relay: $(cat "$t/$1.err")"
  [ "$(cat "$t/body")" = "hello from tailbox" ] || fail "$1: body $(cat "$t/body")"
}
must_be_prohibited() {
  ! get "$RELAY_PORT" socks5 || fail "$1: a socket marked 0x80000 got through; SO_MARK was not set"
  grep -q "(1)" "$t/curl.err" || fail "$1: EACCES should be SOCKS5 reply 1 (general failure): $(cat "$t/curl.err")"
  code=$(ip netns exec "$ns" curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$RELAY_PORT" "http://127.0.0.1:$hp/hello.txt") || true
  [ "$code" = 502 ] || fail "$1: http via a prohibited dial: want 502, got $code"
  wait_conns "$1" 2
  conn_records "$1" | jq -se --argjson hp "$hp" \
    'length == 2 and all(.outbound == "direct" and .destination.port == $hp and (.error // "" | test("denied|permission|prohibit"; "i")))' >/dev/null ||
    fail "$1: conn records should carry the EACCES: $(conn_records "$1")"
}

config plain "" ""
start_relay plain --threads 1 -c "$t/plain.json"
must_pass plain
config other ', "routing_mark": 262144' ""   # 0x40000: a mark, but not the prohibited one
start_relay other --threads 1 -c "$t/other.json"
must_pass other
config marked ', "routing_mark": 524288' ""  # 0x80000
start_relay marked --threads 1 -c "$t/marked.json"
must_be_prohibited marked
config dflt "" ', "default_mark": 524288'    # route.default_mark applies when the outbound has none
start_relay dflt --threads 1 -c "$t/dflt.json"
must_be_prohibited dflt
# The unmarked relay still works after all that: the failures came from the mark, not the namespace.
RELAY_PORT=$(grep '"type":"listening"' "$t/plain.out" | jq -r '.inbounds[0].port')
must_pass plain
echo ok
