#!/usr/bin/env bash
# The config's log section in sb-relay, as sing-box applies it (log/log.go): "level" sets the
# level, "output" a file to append to (else stderr), "timestamp" prefixes each line with
# sing-box's "-0700 2006-01-02 15:04:05", "disabled" silences it; --log-level wins over level and
# disabled. sb-route check refuses "output": "stdout" (sb-relay's record stream).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
start_http 127.0.0.1
config() {  # LOG-OBJECT: a relay config with that log section
  cat <<JSON
{"log": $1,
 "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
 "outbounds": [{"type": "direct", "tag": "direct"}]}
JSON
}
fetch() {
  curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$RELAY_PORT" "http://127.0.0.1:$HTTP_PORT/hello.txt" >/dev/null ||
    fail "curl through the relay failed: $(cat "$t/$1.err")"
  wait_conns "$1" 1
}

# level debug, a file, timestamps: the per-connection debug line goes to the file, stamped.
config "{\"level\": \"debug\", \"output\": \"$t/relay.log\", \"timestamp\": true}" >"$t/file.json"
start_relay file --threads 1 -c "$t/file.json"
fetch file
wait_for 5 grep -q 'debug: conn 1 ' "$t/relay.log"
grep -qE '^[+-][0-9]{4} [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} sb-relay: debug: conn 1 ' "$t/relay.log" ||
  fail "log.timestamp: no stamped line in the file: $(cat "$t/relay.log")"
if grep -q 'debug:' "$t/file.err"; then fail "log.output: debug lines still on stderr: $(cat "$t/file.err")"; fi
kill "$RELAY_PID"

# level debug on stderr, no timestamp; --log-level warn wins over it.
config '{"level": "debug"}' >"$t/stderr.json"
start_relay plain --threads 1 -c "$t/stderr.json"
fetch plain
wait_for 5 grep -q '^sb-relay: debug: conn 1 ' "$t/plain.err"
kill "$RELAY_PID"
start_relay flag --threads 1 --log-level warn -c "$t/stderr.json"
fetch flag
if grep -q 'debug:' "$t/flag.err"; then fail "--log-level warn did not win over log.level: $(cat "$t/flag.err")"; fi
kill "$RELAY_PID"

# disabled: nothing, even at debug.
config '{"level": "debug", "disabled": true}' >"$t/off.json"
start_relay off --threads 1 -c "$t/off.json"
fetch off
if grep -q 'debug:' "$t/off.err"; then fail "log.disabled: still logging: $(cat "$t/off.err")"; fi
kill "$RELAY_PID"

# A file that cannot be opened is a configuration error (its directory is not created).
config "{\"output\": \"$t/missing/relay.log\"}" >"$t/bad.json"
expect_exit 78 "$relay" -c "$t/bad.json" </dev/null
[ ! -e "$t/missing" ] || fail "log.output: sb-relay created the missing directory"
config '{"output": "stdout"}' >"$t/stdout.json"
sb=$(tool sb-route)
expect_exit 78 "$sb" check -c "$t/stdout.json"
echo ok
