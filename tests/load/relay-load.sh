#!/usr/bin/env bash
# sb-relay under load (make load; a short version is tests/cli/load-smoke.sh). Three phases:
#  1. hold: LOAD_CONNS concurrent relayed connections (SOCKS5, every 4th HTTP CONNECT) to an echo
#     server, bytes pushed through each and the echo checked, twice; then all closed. Zero
#     failures; while held the relay has at least 2 descriptors per connection; after the close
#     its descriptor count returns to the baseline.
#  2. soak: LOAD_SOAK seconds of LOAD_SOAK_CONC workers looping over short and long connections;
#     zero failures, zero conn records with an error, descriptors back to the baseline, and RSS
#     bounded: the last third of the samples peaks at most 25 % + 8 MB above the first third.
#  3. cap: a relay with --max-connections LOAD_CAP holding LOAD_CAP connections; LOAD_OVER more
#     clients are refused politely (SOCKS5 method 0xFF, HTTP 503) and the admitted ones keep working.
# fds = entries of /proc/PID/fd, RSS = VmRSS. Figures go to stdout and, as JSON, to $LOAD_REPORT.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
. "$here/../cli/relay-lib.sh"
N=${LOAD_CONNS:-5000}
SOAK=${LOAD_SOAK:-120}
SOAK_CONC=${LOAD_SOAK_CONC:-300}
CAP=${LOAD_CAP:-100}
OVER=${LOAD_OVER:-50}
THREADS=${LOAD_THREADS:-2}
REPORT=${LOAD_REPORT:-}
loadgen=$here/loadgen.py

# A relayed connection costs the relay 2 descriptors while its exchanges are short (copied), 6 once
# a direction goes bulk (a splice(2) pipe per direction, 3e3ac37); the hold phase pushes 1 KiB, so
# 2 per connection (LOAD_FDS_PER_CONN=6 for a relay that splices everything, as before 3e3ac37).
# The generator needs 2 (its client and its echo server side).
need=$((${LOAD_FDS_PER_CONN:-2} * N + 256))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  ulimit -Hn "$need" 2>/dev/null || skip "the hard descriptor limit ($hard) is below $need and cannot be raised (not root?)"
fi
ulimit -n "$need"

fds() { ls "/proc/$1/fd" | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
sample() {  # sample PID LABEL: one JSON line in $t/samples.jsonl, echoed
  local line
  line=$(printf '{"label":"%s","fds":%s,"rss_kb":%s}' "$2" "$(fds "$1")" "$(rss "$1")")
  echo "$line" >>"$t/samples.jsonl"
  echo "  sample $line"
}
fds_at_most() { [ "$(fds "$1")" -le "$2" ]; }
# lg_open MODE ARGS...: loadgen with its stdin on fd LGW and its stdout on fd LGR.
lg_open() {
  rm -f "$t/lg.in" "$t/lg.out"
  mkfifo "$t/lg.in" "$t/lg.out"
  python3 -u "$loadgen" "$@" <"$t/lg.in" >"$t/lg.out" 2>>"$t/lg.err" &
  LG_PID=$!
  track_pid "$LG_PID"
  exec {LGW}>"$t/lg.in"
  exec {LGR}<"$t/lg.out"
}
lg_read() {  # lg_read SECONDS: the next result line into $LG
  LG=""
  read -r -t "$1" -u "$LGR" LG || fail "loadgen gave no result within $1 s: $(tail -3 "$t/lg.err" 2>/dev/null)"
  echo "  loadgen $LG"
}
jqr() { printf '%s\n' "$LG" | jq -r "$1"; }

echo "== hold: $N connections, relay --threads $THREADS --max-connections $((N + 1000))"
start_relay r --threads "$THREADS" --max-connections $((N + 1000)) --events close -c "$TB_FIXTURES/relay/direct.json"
relay_pid=$RELAY_PID
sample "$relay_pid" before
base_fds=$(fds "$relay_pid")
base_rss=$(rss "$relay_pid")
lg_open hold --proxy "$RELAY_PORT" -n "$N" --conc 250 --http-every 4
lg_read 300
[ "$(jqr .held)" = "$N" ] && [ "$(jqr .failed)" = 0 ] || fail "hold: $LG"
sample "$relay_pid" held
held_fds=$(fds "$relay_pid")
held_rss=$(rss "$relay_pid")
[ "$held_fds" -ge $((base_fds + 2 * N)) ] || fail "the relay holds $held_fds descriptors for $N connections (baseline $base_fds)"
echo push >&"$LGW"
lg_read 300
[ "$(jqr .ok)" = "$N" ] && [ "$(jqr .failed)" = 0 ] || fail "second push: $LG"
echo close >&"$LGW"
lg_read 60
[ "$(jqr .echo_open)" = 0 ] || fail "the relay did not close every upstream: $LG"
exec {LGW}>&-
wait_exit "$LG_PID" 0 60 "the load generator (hold), its stdin closed" "$t/lg.err"
wait_for 30 fds_at_most "$relay_pid" "$base_fds"
wait_conns r "$N"
sample "$relay_pid" after-hold
errs=$(conn_records r | jq -s 'map(select(.error != null)) | length')
[ "$errs" = 0 ] || fail "$errs conn records with an error: $(conn_records r | jq -c 'select(.error != null)' | head -3)"

echo "== soak: ${SOAK}s, $SOAK_CONC workers, short and long connections"
: >"$t/soak.jsonl"
(
  while kill -0 "$relay_pid" 2>/dev/null; do  # a sampler, not a synchronisation
    printf '{"fds":%s,"rss_kb":%s}\n' "$(fds "$relay_pid")" "$(rss "$relay_pid")" >>"$t/soak.jsonl"
    sleep 1
  done
) 2>/dev/null &
sampler=$!
track_pid "$sampler"
before_soak=$(conn_records r | wc -l)
lg_open soak --proxy "$RELAY_PORT" --duration "$SOAK" --conc "$SOAK_CONC"
while :; do
  lg_read $((SOAK + 120))
  [ "$(jqr .phase)" = soak_done ] && break
done
exec {LGW}>&-
wait_exit "$LG_PID" 0 60 "the load generator (soak), its stdin closed" "$t/lg.err"
soak_ok=$(jqr .ok)
soak_failed=$(jqr .failed)
soak_short=$(jqr .short)
soak_long=$(jqr .long)
[ "$soak_failed" = 0 ] && [ "$soak_ok" -gt 0 ] || fail "soak: $LG"
wait_for 30 fds_at_most "$relay_pid" "$base_fds"
kill "$sampler" 2>/dev/null || true
sample "$relay_pid" after-soak
wait_conns r $((before_soak + soak_ok))
errs=$(conn_records r | jq -s 'map(select(.error != null)) | length')
[ "$errs" = 0 ] || fail "soak: $errs conn records with an error: $(conn_records r | jq -c 'select(.error != null)' | head -3)"
read -r soak_max_fds soak_max_rss first_rss last_rss < <(jq -rs '
  (length / 3 | floor) as $k |
  [ (map(.fds) | max), (map(.rss_kb) | max),
    (.[:($k | if . < 1 then 1 else . end)] | map(.rss_kb) | max),
    (.[-($k | if . < 1 then 1 else . end):] | map(.rss_kb) | max) ] | @tsv' "$t/soak.jsonl")
echo "  soak samples: $(wc -l <"$t/soak.jsonl"), max fds $soak_max_fds, max RSS $soak_max_rss kB, first third $first_rss kB, last third $last_rss kB"
if sanitized "$relay"; then
  echo "  (RSS not judged: sb-relay is built with a sanitizer, whose quarantine holds freed memory)"
else
  [ "$last_rss" -le $((first_rss * 125 / 100 + 8192)) ] || fail "RSS keeps growing during the soak: first third $first_rss kB, last third $last_rss kB"
fi
after_fds=$(fds "$relay_pid")
after_rss=$(rss "$relay_pid")
kill -TERM "$relay_pid"
wait_exit "$relay_pid" 0 30 "sb-relay, SIGTERM after the load" "$t/r.err"

echo "== cap: --max-connections $CAP, $CAP held + $OVER over"
start_relay c --threads "$THREADS" --max-connections "$CAP" --events close -c "$TB_FIXTURES/relay/direct.json"
lg_open cap --proxy "$RELAY_PORT" --admit "$CAP" --over "$OVER"
lg_read 120
exec {LGW}>&-
wait_exit "$LG_PID" 0 60 "the load generator (cap), its stdin closed" "$t/lg.err"
cap_line=$LG
[ "$(jqr .held)" = "$CAP" ] && [ "$(jqr .admitted_failed)" = 0 ] || fail "cap: the admitted connections failed: $LG"
[ "$(jqr '.refused_socks5 + .refused_http')" = "$OVER" ] || fail "cap: not every client over the cap was refused politely: $LG"
[ "$(jqr .refused_socks5)" -gt 0 ] && [ "$(jqr .refused_http)" -gt 0 ] || fail "cap: refusals in one protocol only: $LG"
[ "$(jqr .push_ok)" = "$CAP" ] && [ "$(jqr .push_failed)" = 0 ] || fail "cap: the admitted connections broke: $LG"
wait_for 10 sh -c "[ \$(grep -c '\"error\":\"connection limit reached\"' '$RELAY_OUT') -ge $OVER ]"

summary=$(jq -cn --argjson n "$N" --argjson threads "$THREADS" \
  --argjson base_fds "$base_fds" --argjson base_rss "$base_rss" --argjson held_fds "$held_fds" --argjson held_rss "$held_rss" \
  --argjson soak_s "$SOAK" --argjson soak_conc "$SOAK_CONC" --argjson soak_ok "$soak_ok" --argjson soak_failed "$soak_failed" \
  --argjson soak_short "$soak_short" --argjson soak_long "$soak_long" \
  --argjson soak_max_fds "$soak_max_fds" --argjson soak_max_rss "$soak_max_rss" --argjson first_rss "$first_rss" --argjson last_rss "$last_rss" \
  --argjson after_fds "$after_fds" --argjson after_rss "$after_rss" --argjson cap "$cap_line" \
  '{test:"relay-load",connections:$n,threads:$threads,
    before:{fds:$base_fds,rss_kb:$base_rss}, held:{fds:$held_fds,rss_kb:$held_rss},
    soak:{seconds:$soak_s,workers:$soak_conc,ok:$soak_ok,failed:$soak_failed,short:$soak_short,long:$soak_long,
          max_fds:$soak_max_fds,max_rss_kb:$soak_max_rss,first_third_rss_kb:$first_rss,last_third_rss_kb:$last_rss},
    after:{fds:$after_fds,rss_kb:$after_rss}, cap:$cap}')
echo "$summary"
[ -z "$REPORT" ] || echo "$summary" >>"$REPORT"
echo ok
