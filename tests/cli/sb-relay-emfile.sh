#!/usr/bin/env bash
# Out of descriptors (EMFILE), sb-relay backs off accept instead of spinning: with a file limit of
# 48, clients that hold connections open exhaust it; sb-relay logs one warning, stays alive and
# nearly idle (CPU time measured over a 2 s window), and serves again as soon as they let go.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"

start_http 127.0.0.1
hp=$HTTP_PORT
RELAY_OUT=$t/r.out
(ulimit -n 48 && exec "$relay" --threads 1 --handshake-timeout 60 -c "$TB_FIXTURES/relay/direct.json") \
  >"$RELAY_OUT" 2>"$t/r.err" &
RELAY_PID=$!
track_pid "$RELAY_PID"
wait_for 10 grep -q '"type":"listening"' "$RELAY_OUT"
p=$(grep '"type":"listening"' "$RELAY_OUT" | head -1 | jq -r '.inbounds[0].port')
curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "http://127.0.0.1:$hp/hello.txt" >/dev/null ||
  fail "the relay does not serve before the test"

# 80 idle clients: more than the relay has descriptors for. They hold until their stdin closes.
mkfifo "$t/hold"
python3 -c '
import socket, sys
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(80)]
print("holding", flush=True)
sys.stdin.read()
' "$p" <"$t/hold" >"$t/hold.out" 2>&1 &
hold_pid=$!
track_pid "$hold_pid"
exec 7>"$t/hold"
wait_for 10 grep -q holding "$t/hold.out"
wait_for 10 grep -qi 'too many open files' "$t/r.err"
kill -0 "$RELAY_PID" 2>/dev/null || fail "sb-relay died out of descriptors: $(cat "$t/r.err")"

# Not spinning: less than 0.3 s of CPU in 2 s while out of descriptors.
ticks() { awk '{print $14 + $15}' "/proc/$RELAY_PID/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
sleep 2  # a measurement window, not a synchronisation
used=$(( $(ticks) - before ))
[ "$used" -lt $(( hz * 3 / 10 )) ] || fail "sb-relay used $used/$hz s of CPU in 2 s out of descriptors (spinning)"
[ "$(grep -ci 'too many open files' "$t/r.err")" -le 2 ] || fail "the EMFILE warning is repeated: $(cat "$t/r.err")"

# The clients let go: the relay serves again, without a restart.
exec 7>&-
wait_exit "$hold_pid" 0 10 "the 80 idle clients, their stdin closed" "$t/hold.out"
wait_for 30 curl -sS --max-time 2 --proxy "socks5h://127.0.0.1:$p" "http://127.0.0.1:$hp/hello.txt" -o /dev/null
kill -0 "$RELAY_PID" || fail "sb-relay is gone"
echo ok
