#!/usr/bin/env bash
# sb-relay killed inside tailbox-proxy is repaired within 10 s: sb-route sends a plan only when it
# changes, so a new sb-relay alone would wait (not listening) until the tailnet next changed; the
# supervisor restarts the stages before it, whose first records give it a plan at once. The new
# relay listens again and serves a request. (No tailscaled here: the tailnet is unavailable and
# direct traffic is served.)
. "$(dirname "$0")/lib.sh"
command -v setsid >/dev/null || skip "setsid missing"
tool ts-status >/dev/null; tool sb-route >/dev/null; tool sb-relay >/dev/null
mkdir -p "$t/tmp"
cat >"$t/cfg.json" <<'JSON'
{"inbounds":[{"type":"mixed","tag":"in","listen":"127.0.0.1","listen_port":0}],
 "outbounds":[{"type":"direct","tag":"direct","connect_timeout":"2s"}],"route":{"final":"direct"}}
JSON
TMPDIR=$t/tmp setsid bash "$TB_SRC/scripts/tailbox-proxy" --bin "$TB_BIN" --socket "$t/no.sock" -c "$t/cfg.json" \
  >"$t/out" 2>"$t/err" </dev/null &
SID=$!
track_pid "$SID"
wait_for 20 sh -c '[ "$(grep -c "\"type\":\"listening\"" "$0")" -ge 1 ]' "$t/out"
relay=$(pgrep -s "$SID" -x sb-relay) || fail "no sb-relay in the session"

kill -KILL "$relay"
wait_for 10 sh -c '[ "$(grep -c "\"type\":\"listening\"" "$0")" -ge 2 ]' "$t/out"
addr=$(grep '"type":"listening"' "$t/out" | tail -1 | jq -r '.inbounds[0].address')
new=$(pgrep -s "$SID" -x sb-relay) || fail "no sb-relay after the restart: $(cat "$t/err")"
[ "$new" != "$relay" ] || fail "sb-relay was not restarted"
n=$(grep -c '"type":"conn"' "$t/out" || true)
curl -sS --max-time 5 --proxy "socks5h://$addr" http://127.0.0.1:1/ >/dev/null 2>&1 || true
wait_for 5 sh -c '[ "$(grep -c "\"type\":\"conn\"" "$0")" -gt "$1" ]' "$t/out" "$n"
contains -F 'sb-relay exited with status 137; restarting' <"$t/err" || fail "no restart line: $(cat "$t/err")"
kill -TERM "$SID"
timeout 15 tail --pid="$SID" -f /dev/null || fail "tailbox-proxy did not stop"
left=$(pgrep -s "$SID" | xargs -r ps -o pid=,stat=,args= -p | awk '$2 !~ /^Z/' || true)  # zombies: not running
[ -z "$left" ] || fail "left running: $left"
echo "ok: sb-relay killed, listening again at $addr and serving"
