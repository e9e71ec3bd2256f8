#!/usr/bin/env bash
# `ts-status watch` on a big, churning tailnet (make load; a short version runs in
# tests/cli/load-smoke.sh): fake_tailscaled --generate-peers CHURN_PEERS, one control call every
# CHURN_PERIOD s for CHURN_SECONDS s (offline, online, add, remove in turn). Expected:
#  - every stdout line of watch is a complete JSON record with v and type;
#  - once the churn stops, watch's last status record has exactly the daemon's final peers with
#    their online flags (no missed final state), within 20 s;
#  - watch's RSS stays bounded: sampled every second, the last third of the run peaks at most
#    25 % + 8 MB above the first third; watch is still running at the end.
# Figures go to stdout and, as JSON, to $LOAD_REPORT.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
command -v jq >/dev/null || skip "jq missing"
command -v python3 >/dev/null || skip "python3 missing"
ts=$(tool ts-status)
PEERS=${CHURN_PEERS:-1000}
SECS=${CHURN_SECONDS:-60}
PERIOD=${CHURN_PERIOD:-0.1}
REPORT=${LOAD_REPORT:-}
churn=$here/churn.py

start_fake --generate-peers "$PEERS"
mkdir "$t/w"
mkfifo "$t/watch.fifo"
python3 "$churn" consume "$t/w" <"$t/watch.fifo" 2>"$t/consume.err" &
consumer=$!
track_pid "$consumer"
"$ts" --socket "$FAKE_SOCK" watch >"$t/watch.fifo" 2>"$t/watch.err" &
watch_pid=$!
track_pid "$watch_pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"
has_status() { [ -s "$t/w/last.json" ]; }
for ((i = 0; i < 200; i++)); do has_status && break; fake_ctl '/wait-watchers?n=99&timeout_ms=50' >/dev/null 2>&1 || true; done
has_status || fail "no first status record: $(cat "$t/watch.err")"
jq -e --argjson n "$PEERS" '.peers | length == $n' "$t/w/last.json" >/dev/null || fail "first status has $(jq '.peers | length' "$t/w/last.json") peers, want $PEERS"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rss0=$(rss "$watch_pid")
: >"$t/rss"
(
  while kill -0 "$watch_pid" 2>/dev/null; do  # a sampler, not a synchronisation
    rss "$watch_pid" >>"$t/rss"
    sleep 1
  done
) 2>/dev/null &
sampler=$!
track_pid "$sampler"
echo "== churn: $PEERS peers, one change every ${PERIOD}s for ${SECS}s"
churn_line=$(python3 "$churn" churn --control "$FAKE_CTL" --duration "$SECS" --period "$PERIOD" --peers "$PEERS") ||
  fail "churn: $churn_line"
echo "  churn $churn_line"
cmp_line=$(python3 "$churn" compare --socket "$FAKE_SOCK" --last "$t/w/last.json" --timeout 20) || true
echo "  compare $cmp_line"
kill -0 "$watch_pid" 2>/dev/null || fail "watch exited during the churn: $(cat "$t/watch.err")"
rss_end=$(rss "$watch_pid")
kill "$sampler" 2>/dev/null || true
kill "$watch_pid"
wait_exit "$consumer" 0 30 "the consumer of watch's output, watch killed" "$t/consume.err"
counts=$(cat "$t/w/counts.json")
echo "  watch output $counts"
printf '%s\n' "$cmp_line" | jq -e '.match' >/dev/null || fail "watch missed the final state: $cmp_line"
[ "$(jq .bad <<<"$counts")" = 0 ] || fail "watch printed lines that are not complete records: $(head -3 "$t/consume.err")"
read -r first last max < <(jq -rs '(length / 3 | floor | if . < 1 then 1 else . end) as $k |
  [(.[:$k] | max), (.[-$k:] | max), max] | @tsv' "$t/rss")
echo "  watch RSS: start $rss0 kB, first third max $first kB, last third max $last kB, max $max kB, end $rss_end kB ($(wc -l <"$t/rss") samples)"
if sanitized "$ts"; then
  echo "  (RSS not judged: ts-status is built with a sanitizer, whose quarantine holds freed memory)"
else
  [ "$last" -le $((first * 125 / 100 + 8192)) ] || fail "watch's RSS keeps growing: first third $first kB, last third $last kB"
fi
summary=$(jq -cn --argjson peers "$PEERS" --argjson secs "$SECS" --arg period "$PERIOD" --argjson churn "$churn_line" \
  --argjson cmp "$cmp_line" --argjson counts "$counts" --argjson rss0 "$rss0" --argjson first "$first" --argjson last "$last" \
  --argjson max "$max" --argjson rss_end "$rss_end" \
  '{test:"watch-churn",peers:$peers,seconds:$secs,period_s:($period|tonumber),churn:$churn,final:$cmp,output:$counts,
    rss_kb:{start:$rss0,first_third_max:$first,last_third_max:$last,max:$max,end:$rss_end}}')
echo "$summary"
[ -z "$REPORT" ] || echo "$summary" >>"$REPORT"
echo ok
