#!/usr/bin/env bash
# sb-relay waiting for its first plan (stdin open, no plan yet) ends on one SIGTERM: exit 130,
# nothing on stdout. It used to need a second signal, so a relay whose planner never produced a plan
# (a config sb-route refused) outlived tailbox-proxy when one SIGTERM reached the whole group, as
# from systemd or timeout(1).
# And tailbox-proxy, stopped by one SIGTERM to its process group while sb-route keeps failing, leaves
# no stage behind.
. "$(dirname "$0")/lib.sh"
. "$TB_FIXTURES/relay/relay-lib.sh"
relay=$(tool sb-relay)
command -v setsid >/dev/null || skip "setsid missing"

mkfifo "$t/plans"
start_relay_fifo r "$t/plans"
exec 7>"$t/plans"
# Synchronise on the relay reading stdin: a bad line is reported once read.
echo 'not a plan' >&7
wait_for 10 grep -q 'stdin line 1: not a JSON object' "$t/r.err"
kill -TERM "$RELAY_PID"
timeout 5 tail --pid="$RELAY_PID" -f /dev/null || fail "sb-relay still waiting for a plan 5 s after one SIGTERM"
rc=0; wait "$RELAY_PID" || rc=$?
[ "$rc" = 130 ] || fail "SIGTERM before the first plan: exit $rc, expected 130"
[ ! -s "$RELAY_OUT" ] || fail "stdout before any plan: $(cat "$RELAY_OUT")"
exec 7>&-

# The pipeline with a planner that never produces a plan: tailbox-proxy without its config check
# (a config can also go bad after the check, when it is edited), one SIGTERM to the whole group.
sb_route=$(tool sb-route)
printf '%s\n' '{"outbounds":[{"type":"direct","tag":"direct"}],"route":{"final":"nowhere"}}' >"$t/bad.json"
sed 's/^if \[ -n "\$config" \] && \[ -n "\$sb_route" \]; then$/if false; then/' "$TB_SRC/scripts/tailbox-proxy" >"$t/proxy"
grep -q '^if false; then$' "$t/proxy" || fail "could not disable tailbox-proxy's config check"
mkdir -p "$t/tmp"
TMPDIR=$t/tmp setsid bash "$t/proxy" --bin "$TB_BIN" --socket "$t/no.sock" -c "$t/bad.json" \
  >"$t/proxy.out" 2>"$t/proxy.err" </dev/null &
proxy=$!
track_pid "$proxy"
wait_for 15 grep -q 'sb-route exited with status 78; restarting' "$t/proxy.err"
run_dir=$(ls -d "$t"/tmp/tailbox-proxy.* 2>/dev/null | head -n 1)
[ -n "$run_dir" ] || fail "no run directory"
# Each stage holds only its own ends of the FIFOs (the supervisor keeps them open, not the stages).
for p in $(pgrep -f -- "$TB_BIN/(ts-status|sb-relay)/"); do
  fds=$(ls -l "/proc/$p/fd" 2>/dev/null | awk -v d="$run_dir/" 'index($0, d) {print $(NF-2)}' | sort -n | xargs)
  case $fds in '') ;; 0|1) ;; *) fail "stage $p ($(ps -o args= -p "$p")) holds FIFO descriptors $fds" ;; esac
done
kill -TERM -- -"$proxy"   # the group: tailbox-proxy, its supervisors and every stage at once
timeout 15 tail --pid="$proxy" -f /dev/null || fail "tailbox-proxy still running 15 s after SIGTERM"
left() { pgrep -f -- "$TB_BIN/(ts-status|sb-route|sb-relay)/" | while read -r p; do
  # only processes of this test: their stdin or stdout is in this run directory, or under $t
  ls -l "/proc/$p/fd" 2>/dev/null | grep -q -e "$run_dir" -e "$t/proxy" && echo "$p"; done; }
end=$((SECONDS + 10))
while [ -n "$(left)" ]; do
  [ "$SECONDS" -lt "$end" ] || fail "stages left after tailbox-proxy stopped: $(left | xargs -r ps -o pid=,args= -p)"
  sleep 0.1
done
[ ! -e "$run_dir" ] || fail "run directory left: $run_dir"
