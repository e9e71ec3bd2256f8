#!/usr/bin/env bash
# tailbox-proxy's running pipeline (no tailscaled: the tailnet is unavailable, direct traffic still
# served), each run in its own session so that every process it starts can be found by session:
#   a stage exiting with a configuration error stops the whole pipeline with that status (78) and
#   its message: sb-relay refusing an inbound off loopback without users, sb-route refusing a config
#   (the up-front check disabled, as when the file changes between the check and a restart);
#   with --allow-open the same config runs: stages hold only their own ends of the FIFOs;
#   SIGTERM to tailbox-proxy alone, or to its whole group, exits 130 once every stage has stopped.
# After each run no process of its session is left and its run directory is gone.
. "$(dirname "$0")/lib.sh"
tool ts-status >/dev/null; tool sb-route >/dev/null; tool sb-relay >/dev/null
# Off loopback, no users, an ephemeral port.
cat >"$t/open.json" <<'JSON'
{"inbounds":[{"type":"mixed","tag":"open-in","listen":"0.0.0.0","listen_port":0}],
 "outbounds":[{"type":"direct","tag":"direct"}],"route":{"final":"direct"}}
JSON

# 1. sb-relay refuses the open inbound (78): everything stops with 78 and sb-relay's message.
proxy_session refused "$TB_SRC/scripts/tailbox-proxy" -c "$t/open.json"
session_finish 78 20
contains -F 'add users or pass --allow-open' <"$ERR" || fail "sb-relay's reason missing: $(cat "$ERR")"
contains -F 'sb-relay exited with status 78' <"$ERR" || fail "no stop line: $(cat "$ERR")"
contains -F 'restarting' <"$ERR" && fail "a configuration error was restarted: $(cat "$ERR")"
[ ! -s "$OUT" ] || fail "stdout without a listener: $(cat "$OUT")"

# 2. sb-route refuses the config after the check (check disabled in a copy): 78, nothing left.
sed 's/^if \[ -n "\$config" \] && \[ -n "\$sb_route" \]; then$/if false; then/' "$TB_SRC/scripts/tailbox-proxy" >"$t/unchecked"
grep -q '^if false; then$' "$t/unchecked" || fail "could not disable tailbox-proxy's config check"
printf '%s\n' '{"outbounds":[{"type":"direct","tag":"direct"}],"route":{"final":"nowhere"}}' >"$t/bad.json"
proxy_session unchecked "$t/unchecked" -c "$t/bad.json"
session_finish 78 20
contains -F 'sb-route exited with status 78' <"$ERR" || fail "no stop line: $(cat "$ERR")"

# 3. With --allow-open it runs; SIGTERM to tailbox-proxy alone.
proxy_session open "$TB_SRC/scripts/tailbox-proxy" -c "$t/open.json" --allow-open
wait_for 20 grep -qF '"type":"listening"' "$OUT"
run_dir=$(ls -d "$t"/tmp/tailbox-proxy.*)
# Each stage holds only its own ends of the FIFOs (fd 0 and/or 1), never the supervisor's holds.
stages=0
for p in $(pgrep -s "$SID" -x 'ts-status|sb-route|sb-relay'); do
  fds=$(ls -l "/proc/$p/fd" 2>/dev/null | awk -v d="$run_dir/" 'index($0, d) {print $(NF-2)}' | sort -n | xargs)
  case $fds in 0|1|'0 1'|'') ;; *) fail "stage $p ($(ps -o args= -p "$p")) holds FIFO descriptors $fds" ;; esac
  stages=$((stages + 1))
done
[ "$stages" = 3 ] || fail "expected 3 stages in the session, found $stages: $(session_left)"
kill -TERM "$SID"
session_finish 130 15

# 4. The same, SIGTERM to the whole group at once (systemd, timeout).
proxy_session group "$TB_SRC/scripts/tailbox-proxy" -c "$t/open.json" --allow-open
wait_for 20 grep -qF '"type":"listening"' "$OUT"
kill -TERM -- -"$SID"
session_finish 130 15
