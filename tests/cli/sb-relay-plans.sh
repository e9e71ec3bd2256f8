#!/usr/bin/env bash
# Plans from stdin (through a FIFO): the first plan opens the listeners; a malformed line is
# reported and the last good plan stays; a new plan applies to new connections while a live
# connection keeps its plan; --exit-on-eof drains and exits 0 when the stream ends.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
sb=$(tool sb-route)
run=$TB_FIXTURES/route/status-running.jsonl
"$sb" plan -c "$TB_FIXTURES/relay/direct.json" <"$run" >"$t/plan1" || fail "sb-route plan (direct)"
"$sb" plan -c "$TB_FIXTURES/relay/reject-local.json" <"$run" | jq -c '.generation = 2' >"$t/plan2" || fail "sb-route plan (reject)"
head -c 300000 /dev/zero >"$t/www/big.bin"
start_http 127.0.0.1
mkfifo "$t/plans"
start_relay_fifo r "$t/plans" --events close --exit-on-eof
exec 7>"$t/plans"
cat "$t/plan1" >&7
wait_for 10 grep -q '"type":"listening"' "$RELAY_OUT"
p=$(grep '"type":"listening"' "$RELAY_OUT" | jq -r '.inbounds[0].port')
url=http://localhost:$HTTP_PORT
[ "$(curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "$url/hello.txt")" = "hello from tailbox" ] || fail "plan 1: direct"
echo 'this is not json' >&7
wait_for 10 grep -q "stdin line 2: not a JSON object; keeping the last good plan" "$t/r.err"
[ "$(curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "$url/hello.txt")" = "hello from tailbox" ] || fail "after a bad line: plan 1 must stay"
# A live, slow connection under plan 1 while plan 2 arrives.
curl -sS --max-time 30 --limit-rate 100K --proxy "socks5h://127.0.0.1:$p" "$url/big.bin" -o "$t/big.out" &
live=$!
track_pid "$live"
wait_for 10 test -s "$t/big.out"
cat "$t/plan2" >&7
rejected() { ! curl -s -o /dev/null --max-time 5 --proxy "socks5h://127.0.0.1:$p" "$url/hello.txt"; }
wait_for 10 rejected
wait_exit "$live" 0 30 "the live connection (curl) across the plan swap"
[ "$(stat -c %s "$t/big.out")" = 300000 ] || fail "live download truncated: $(stat -c %s "$t/big.out")"
wait_for 10 grep -q '"bytes_down":300' "$RELAY_OUT"
conn_records r | jq -se 'map(select(.bytes_down >= 300000)) | length == 1 and .[0].generation == 1 and .[0].outbound == "direct"' >/dev/null ||
  fail "live connection record: $(conn_records r)"
conn_records r | jq -se 'map(select(.action == "reject")) | length >= 1 and all(.generation == 2 and .rule == 0)' >/dev/null ||
  fail "new connections must use plan 2: $(conn_records r)"
exec 7>&-
wait_exit "$RELAY_PID" 0 10 "sb-relay --exit-on-eof at the end of its plans"
# Without any plan on stdin: exit 65.
rc=0; "$relay" </dev/null >/dev/null 2>"$t/noplan.err" || rc=$?
[ "$rc" = 65 ] || fail "no plan: exit $rc"
echo ok
