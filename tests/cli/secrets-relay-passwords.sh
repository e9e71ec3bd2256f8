#!/usr/bin/env bash
# Secrets: proxy passwords (inbound users) are never logged. sb-relay runs with users at
# --log-level trace and --events all, standalone (-c) and from a plan stream; clients log in with a
# wrong and with the right password over SOCKS5 (RFC 1929), HTTP forwarding and HTTP CONNECT (Basic).
# Expected: right logins served, wrong ones refused (SOCKS5 auth failure, HTTP 407); neither the
# password nor the wrong password (nor its base64 Basic form) appears in sb-relay's stdout or stderr,
# in its argv or its environment; the user name does reach the conn records.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
sb=$(tool sb-route)
pw=pw$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
wrong=wr$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cat >"$t/users.json" <<JSON
{"inbounds": [{"type": "mixed", "tag": "auth-in", "listen": "127.0.0.1", "listen_port": 0,
               "users": [{"username": "alice", "password": "$pw"}]}],
 "outbounds": [{"type": "direct", "tag": "direct"}], "route": {"final": "direct"}}
JSON
start_http 127.0.0.1
url=http://127.0.0.1:$HTTP_PORT/hello.txt
logins() {  # logins PORT NAME
  local p=$1 rc code
  [ "$(curl -sS --max-time 10 --proxy "socks5h://alice:$pw@127.0.0.1:$p" "$url")" = "hello from tailbox" ] || fail "$2: socks5 right password"
  [ "$(curl -sS --max-time 10 --proxy "http://alice:$pw@127.0.0.1:$p" "$url")" = "hello from tailbox" ] || fail "$2: http right password"
  [ "$(curl -sS --max-time 10 -p --proxy "http://alice:$pw@127.0.0.1:$p" "$url")" = "hello from tailbox" ] || fail "$2: CONNECT right password"
  rc=0; curl -sS --max-time 10 --proxy "socks5h://alice:$wrong@127.0.0.1:$p" "$url" >/dev/null 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "$2: socks5 wrong password accepted"
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://alice:$wrong@127.0.0.1:$p" "$url") || true
  [ "$code" = 407 ] || fail "$2: http wrong password: $code"
  code=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 10 -p --proxy "http://alice:$wrong@127.0.0.1:$p" "$url") || true
  [ "$code" = 407 ] || fail "$2: CONNECT wrong password: $code"
}
leaks() {  # leaks FILE...: fail if any secret form is in them
  local s
  for s in "$pw" "$wrong" "$(printf 'alice:%s' "$pw" | base64)" "$(printf 'alice:%s' "$wrong" | base64)"; do
    ! grep -q -F "$s" "$@" || fail "a password (or its Basic form) is in $(grep -l -F "$s" "$@" | tr '\n' ' ')"
  done
}
proc_clean() {  # proc_clean PID
  ! tr '\0' '\n' <"/proc/$1/cmdline" | contains -F -e "$pw" -e "$wrong" || fail "a password is in sb-relay's argv"
  ! tr '\0' '\n' <"/proc/$1/environ" | contains -F -e "$pw" -e "$wrong" || fail "a password is in sb-relay's environment"
}

start_relay a --threads 2 --log-level trace --events all -c "$t/users.json"
logins "$RELAY_PORT" standalone
proc_clean "$RELAY_PID"
wait_conns a 6
[ -s "$t/a.err" ] || fail "no trace logging at all (is --log-level trace honoured?)"
conn_records a | jq -se 'map(select(.event == "close" and .error == null)) | length == 3 and all(.user == "alice")' >/dev/null ||
  fail "conn records: $(conn_records a)"
kill -TERM "$RELAY_PID"; wait "$RELAY_PID" || true
leaks "$t/a.out" "$t/a.err"

# From a plan stream (the plan carries the config, passwords included, on the pipe between the two).
"$sb" plan -c "$t/users.json" <"$TB_FIXTURES/route/status-running.jsonl" >"$t/plan" 2>"$t/plan.err" || fail "sb-route plan: $(cat "$t/plan.err")"
mkfifo "$t/plans"
start_relay_fifo p "$t/plans" --threads 2 --log-level trace --events all
exec 7>"$t/plans"
cat "$t/plan" >&7
wait_for 10 grep -q '"type":"listening"' "$RELAY_OUT"
port=$(grep '"type":"listening"' "$RELAY_OUT" | head -1 | jq -r '.inbounds[0].port')
logins "$port" plan
proc_clean "$RELAY_PID"
wait_conns p 6
echo 'not json' >&7  # a malformed line is reported: the report must not quote the plan
cat "$t/plan" >&7
wait_for 10 grep -q 'stdin line 2' "$t/p.err"
exec 7>&-
kill -TERM "$RELAY_PID"; wait "$RELAY_PID" || true
leaks "$t/p.out" "$t/p.err" "$t/plan.err"
echo ok
