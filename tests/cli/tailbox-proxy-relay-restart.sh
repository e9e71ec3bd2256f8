#!/usr/bin/env bash
# sb-relay killed inside tailbox-proxy is repaired within 10 s: sb-route sends a plan only when it
# changes, so a new sb-relay alone would wait (not listening) until the tailnet next changed; the
# supervisor restarts the stages before it, whose first records give it a plan at once. The new
# relay listens again and serves a request. (No tailscaled here: the tailnet is unavailable and
# direct traffic is served.)
. "$(dirname "$0")/lib.sh"
tool ts-status >/dev/null; tool sb-route >/dev/null; tool sb-relay >/dev/null
cat >"$t/cfg.json" <<'JSON'
{"inbounds":[{"type":"mixed","tag":"in","listen":"127.0.0.1","listen_port":0}],
 "outbounds":[{"type":"direct","tag":"direct","connect_timeout":"2s"}],"route":{"final":"direct"}}
JSON
proxy_session proxy "$TB_SRC/scripts/tailbox-proxy" -c "$t/cfg.json"
wait_for 20 sh -c '[ "$(grep -c "\"type\":\"listening\"" "$0")" -ge 1 ]' "$OUT"
relay=$(pgrep -s "$SID" -x sb-relay) || fail "no sb-relay in the session"

kill -KILL "$relay"
wait_for 10 sh -c '[ "$(grep -c "\"type\":\"listening\"" "$0")" -ge 2 ]' "$OUT"
addr=$(grep '"type":"listening"' "$OUT" | tail -1 | jq -r '.inbounds[0].address')
new=$(pgrep -s "$SID" -x sb-relay) || fail "no sb-relay after the restart: $(cat "$ERR")"
[ "$new" != "$relay" ] || fail "sb-relay was not restarted"
n=$(grep -c '"type":"conn"' "$OUT" || true)
curl -sS --max-time 5 --proxy "socks5h://$addr" http://127.0.0.1:1/ >/dev/null 2>&1 || true
wait_for 5 sh -c '[ "$(grep -c "\"type\":\"conn\"" "$0")" -gt "$1" ]' "$OUT" "$n"
contains -F 'sb-relay exited with status 137; restarting' <"$ERR" || fail "no restart line: $(cat "$ERR")"
kill -TERM "$SID"
session_finish 130 15
echo "ok: sb-relay killed, listening again at $addr and serving"
