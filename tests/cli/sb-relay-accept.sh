#!/usr/bin/env bash
# Accepting: with several event loops sharing one accept queue (the default) and with --reuseport
# (a listener per loop), 16 concurrent clients are all served (the origin, python's http.server,
# listens with a backlog of 5: many more at once would test its SYN retries, not the relay); a port
# another process listens on (even with SO_REUSEPORT, which would let the kernel split its
# connections with ours) is an error in both modes, exit 69; a client that connects and never
# sends a byte (TCP_DEFER_ACCEPT keeps it in the kernel for about a second) is still closed, and
# recorded, by the handshake timeout.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1

served() {  # served NAME: 16 parallel curls through relay NAME, every one gets the file
  local i pids=()
  for i in $(seq 16); do
    curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$RELAY_PORT" -o "$t/$1.$i" \
      "http://127.0.0.1:$HTTP_PORT/hello.txt" 2>"$t/$1.$i.err" &
    pids+=($!)
  done
  local bad=0
  for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
  [ "$bad" = 0 ] || fail "$1: $bad of 16 curls failed: $(cat "$t/$1".*.err | sort | uniq -c | head -3)"
  for i in $(seq 16); do cmp -s "$t/$1.$i" "$t/www/hello.txt" || fail "$1: curl $i got other bytes"; done
  wait_conns "$1" 16
  [ "$(conn_records "$1" | jq -s '[.[] | select(.event == "close" and .error == null)] | length')" = 16 ] ||
    fail "$1: not 16 clean conn records: $(conn_records "$1" | jq -c 'select(.error != null) | .error' | head -3)"
}

start_relay shared --threads 4 -c "$TB_FIXTURES/relay/direct.json"
served shared
kill "$RELAY_PID"
start_relay rp --threads 4 --reuseport -c "$TB_FIXTURES/relay/direct.json"
served rp
kill "$RELAY_PID"

# A port another process holds, with SO_REUSEPORT set on its socket.
python3 - >"$t/holder.out" <<'PY' &
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(60)
PY
track_pid $!
wait_for 5 test -s "$t/holder.out"
held=$(cat "$t/holder.out")
printf '{"inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": %s}]}\n' "$held" >"$t/held.json"
for mode in "" --reuseport; do
  rc=0
  timeout 10 "$relay" --threads 2 $mode -c "$t/held.json" </dev/null >"$t/held.out" 2>"$t/held.err" || rc=$?
  [ "$rc" = 69 ] || fail "port $held held by another process${mode:+ ($mode)}: exit $rc, want 69: $(cat "$t/held.err")"
  grep -q "listen on 127.0.0.1:$held" "$t/held.err" || fail "no listen error${mode:+ ($mode)}: $(cat "$t/held.err")"
  [ ! -s "$t/held.out" ] || fail "records on stdout despite the failure${mode:+ ($mode)}: $(cat "$t/held.out")"
done

# A client that says nothing at all.
start_relay quiet --threads 2 --handshake-timeout 1 -c "$TB_FIXTURES/relay/direct.json"
await_close "$RELAY_PORT" "" 10 >"$t/quiet.out"
read -r state secs <"$t/quiet.out"
[ "$state" = closed ] || fail "a silent client was not closed within 10 s: $(cat "$t/quiet.out")"
wait_for 5 grep -q '"error":"handshake timeout"' "$RELAY_OUT"
echo "ok (silent client closed after $secs s)"
