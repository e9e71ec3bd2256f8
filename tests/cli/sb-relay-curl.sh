#!/usr/bin/env bash
# sb-relay with curl as the real client: socks5h, socks5, socks4a, socks4 and http (forward and
# CONNECT) proxies against local HTTP servers on 127.0.0.1 and [::1]; conn records; block and
# reject answers (SOCKS reply codes, HTTP statuses).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"

start_http 127.0.0.1
port4=$HTTP_PORT
start_relay r --threads 2 --events all -c "$TB_FIXTURES/relay/direct.json"
jq -e '.v == 1 and .inbounds[0].tag == "mixed-in" and .inbounds[0].listen == "127.0.0.1" and .inbounds[0].port > 0' \
  <(head -1 "$RELAY_OUT") >/dev/null || fail "listening record: $(head -1 "$RELAY_OUT")"
p=$RELAY_PORT
n=0
for proxy in socks5h socks5 socks4a socks4 http; do
  host=127.0.0.1
  [ "$proxy" = socks4a ] || [ "$proxy" = socks5h ] && host=localhost
  body=$(curl -sS --max-time 10 --proxy "$proxy://127.0.0.1:$p" "http://$host:$port4/hello.txt") ||
    fail "$proxy: curl failed; relay stderr: $(cat "$t/r.err")"
  [ "$body" = "hello from tailbox" ] || fail "$proxy: body $body"
  n=$((n + 1))
done
# HTTP CONNECT tunnel, and keep-alive: two requests on one client connection.
body=$(curl -sS --max-time 10 -p --proxy "http://127.0.0.1:$p" "http://127.0.0.1:$port4/hello.txt") || fail "CONNECT failed"
[ "$body" = "hello from tailbox" ] || fail "CONNECT body $body"
n=$((n + 1))
out=$(curl -sS --max-time 10 -v --proxy "http://127.0.0.1:$p" "http://127.0.0.1:$port4/hello.txt" "http://127.0.0.1:$port4/hello.txt" 2>"$t/ka.err")
[ "$(grep -c hello <<<"$out")" = 2 ] || fail "keep-alive: $out"
grep -q "Re-using existing connection" "$t/ka.err" || fail "keep-alive: curl opened a second connection: $(cat "$t/ka.err")"
n=$((n + 1))
wait_conns r "$n"
conn_records r | jq -se --arg p "$port4" '
  map(select(.event == "close")) as $c
  | ($c | length) >= 7
  and ($c | all(.error == null and .outbound == "direct" and .action == "route" and .bytes_down > 0 and .bytes_up > 0))
  and ($c | map(.protocol) | index("socks5") and index("socks4a") and index("socks4") and index("http") and index("http-connect"))
  and ($c[0].destination == {"host": "localhost", "port": ($p | tonumber), "ip": "127.0.0.1"})
  and ($c[0].rule == 3)' >/dev/null || fail "conn records: $(conn_records r)"
conn_records r | jq -se 'map(select(.event == "open")) | length >= 7' >/dev/null || fail "--events all: no open records"

# IPv6: the relay reaches [::1]; a v6 literal through socks5 and http.
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  start_http ::1
  for proxy in socks5 socks5h http; do
    body=$(curl -sS --max-time 10 --proxy "$proxy://127.0.0.1:$p" "http://[::1]:$HTTP_PORT/hello.txt") || fail "IPv6 via $proxy failed"
    [ "$body" = "hello from tailbox" ] || fail "IPv6 via $proxy: $body"
  done
else
  echo "note: no IPv6 loopback; IPv6 part not run"
fi

# block → SOCKS5 reply 2 (not allowed), HTTP 403; reject → the same; reject(drop) → closed.
rc=0; curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" http://blocked.test/ 2>"$t/e1" || rc=$?
grep -q "(2)" "$t/e1" || fail "block via socks5: want reply 2, got: $(cat "$t/e1")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$p" http://blocked.test/)
[ "$code" = 403 ] || fail "block via http: $code"
rc=0; curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" http://www.rejected.test/ 2>"$t/e2" || rc=$?
grep -q "(2)" "$t/e2" || fail "reject via socks5: $(cat "$t/e2")"
rc=0; curl -sS --max-time 10 --proxy "socks4a://127.0.0.1:$p" http://www.rejected.test/ 2>"$t/e3" || rc=$?
grep -qi "rejected\|91\|denied\|failed" "$t/e3" || fail "reject via socks4a: $(cat "$t/e3")"
code=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 10 -p --proxy "http://127.0.0.1:$p" http://www.rejected.test/) || true
[ "$code" = 403 ] || fail "reject via CONNECT: $code"
rc=0; curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" http://x.dropped.test/ 2>"$t/e4" || rc=$?
[ "$rc" != 0 ] || fail "drop: curl succeeded"
# A refused port → SOCKS5 reply 5.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rc=0; curl -sS --max-time 10 --proxy "socks5://127.0.0.1:$p" "http://127.0.0.1:$closed/" 2>"$t/e5" || rc=$?
grep -q "(5)" "$t/e5" || fail "refused: want reply 5, got $(cat "$t/e5")"
wait_for 10 grep -q '"host":"x.dropped.test"' "$RELAY_OUT"
conn_records r | jq -se 'map(select(.event == "close" and .destination.host == "blocked.test")) | length == 2 and all(.outbound == "block" and .rule == 0 and (.error | test("blocked")))' >/dev/null ||
  fail "block records: $(conn_records r | grep blocked)"
conn_records r | jq -se 'map(select(.event == "close" and (.destination.host | endswith("rejected.test")))) | all(.action == "reject" and .rule == 1)' >/dev/null ||
  fail "reject records"
# No password or secret in any output.
kill -TERM "$RELAY_PID"
wait_exit "$RELAY_PID" 0 10 "sb-relay after SIGTERM"
echo ok
