#!/usr/bin/env bash
# Fault: the relay's descriptor limit is lower than its --max-connections needs (ulimit -n 256,
# --max-connections 60, 60 clients each pushing 64 KiB both ways: with a splice(2) pipe per
# direction a connection costs 6 descriptors, 360 in all).
# Expected: no admitted connection fails for lack of descriptors. A connection is either served
# (echo intact, twice) or refused politely up front (SOCKS5 method 0xFF); no SOCKS5 failure reply,
# no reset, no truncated echo; no conn record with a "pipe:" or "Too many open files" error; and
# once the clients leave, the relay is back at its baseline descriptor count and serves again.
# (Remedies: fall back to copying when pipe2() fails, or admit no more than RLIMIT_NOFILE allows.)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
RELAY_OUT=$t/r.out
(ulimit -n 256 && exec "$relay" --threads 1 --max-connections 60 --events close -c "$TB_FIXTURES/relay/direct.json") \
  >"$RELAY_OUT" 2>"$t/r.err" &
RELAY_PID=$!; track_pid "$RELAY_PID"
wait_for 10 grep -q '"type":"listening"' "$RELAY_OUT"
port=$(grep '"type":"listening"' "$RELAY_OUT" | head -1 | jq -r '.inbounds[0].port')
base=$(ls "/proc/$RELAY_PID/fd" | wc -l)
mkfifo "$t/in"
python3 -u "$TB_SRC/tests/load/loadgen.py" hold --proxy "$port" -n 60 --conc 60 --payload 65536 --timeout 10 \
  <"$t/in" >"$t/lg.out" 2>"$t/lg.err" &
lg=$!; track_pid "$lg"
exec 7>"$t/in"
wait_for 60 grep -q '"phase": "held"' "$t/lg.out"
echo push >&7
wait_for 60 grep -q '"phase": "pushed"' "$t/lg.out"
exec 7>&-
wait_exit "$lg" 0 60 "the load generator, once pushed and its stdin closed" "$t/lg.err"
held=$(grep '"phase": "held"' "$t/lg.out")
pushed=$(grep '"phase": "pushed"' "$t/lg.out")
refused=$(jq '.errors["socks5 method 0xff"] // 0' <<<"$held")
others=$(jq --argjson r "$refused" '.failed - $r' <<<"$held")
[ "$others" = 0 ] || fail "admitted connections failed for lack of descriptors: $held (conn records: $(conn_records r | jq -r 'select(.error != null) | .error' | sort | uniq -c | tr '\n' ' '))"
[ "$(jq .failed <<<"$pushed")" = 0 ] || fail "held connections broke on the second push: $pushed"
[ "$(jq '.held' <<<"$held")" -gt 0 ] || fail "nothing was served: $held"
wait_for 20 sh -c "[ \$(ls /proc/$RELAY_PID/fd | wc -l) -le $base ]"
! conn_records r | contains -e '"error":"pipe' -e 'Too many open files' || fail "descriptor errors in conn records"
[ "$(curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$port" "http://127.0.0.1:$HTTP_PORT/hello.txt")" = "hello from tailbox" ] ||
  fail "the relay does not serve after the clients left"
echo ok
