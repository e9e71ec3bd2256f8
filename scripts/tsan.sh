#!/usr/bin/env bash
# make tsan: build sb-relay with ThreadSanitizer in its own build directory and run it under load
# with plans hot-swapped while connections run. Any data race stops the relay (halt_on_error=1)
# and fails this script with TSan's report (also kept in $OUT/tsan.*).
#
#   scripts/tsan.sh [--build DIR] [--bin DIR] [--seconds N] [--no-build]
#     --build DIR   the TSan build directory (default build-tsan)
#     --bin DIR     where the ordinary sb-route is (default build/cmd), used to make the plans
#     --seconds N   length of the load (default 30)
#     --src DIR     the source tree to build (default: this checkout)
#     --no-build    reuse DIR's sb-relay as it is
# The load: tests/load/loadgen.py soak (short and long SOCKS5 and HTTP CONNECT connections, echo
# checked) and, at the same time, a new plan every 100 ms (alternating two rule sets) on the relay's
# stdin, --threads 2; then a connection cap phase (polite refusals from both threads) on a
# standalone relay (reloaded by SIGHUP every 200 ms; TSAN_SIGHUP=0 turns that off); then SIGTERM.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here
build=$here/build-tsan
bin=$here/build/cmd
secs=30
do_build=1
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --src) src=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    *) echo "usage: $0 [--build DIR] [--bin DIR] [--seconds N] [--src DIR] [--no-build]" >&2; exit 2 ;;
  esac
done
case $build in /*) ;; *) build=$PWD/$build ;; esac
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
jobs=${JOBS:-2}
[ "$jobs" -le 2 ] || jobs=2
if [ "$do_build" = 1 ]; then
  cmake -S "$src" -B "$build" -DTB_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
    -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread >/dev/null
  cmake --build "$build" -j "$jobs" --target sb-relay
fi
relay=$build/cmd/sb-relay/sb-relay
sb=$bin/sb-route/sb-route
[ -x "$relay" ] || { echo "tsan: $relay not built" >&2; exit 1; }
[ -x "$sb" ] || { echo "tsan: $sb not built (make build first, or --bin DIR)" >&2; exit 1; }
fx=$here/tests/fixtures
out=$(mktemp -d "${TMPDIR:-/tmp}/tb-tsan.XXXXXX")
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
  if [ "$rc" = 0 ]; then rm -rf "$out"; else echo "tsan: logs kept in $out" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "tsan: FAIL: $*" >&2; cat "$out"/tsan.* 2>/dev/null | head -120 >&2 || true; exit 1; }

# Two plans from two configs that both allow loopback: the second adds rules, so a swap really
# changes the Router. Generations are rewritten as they are sent.
"$sb" plan -c "$fx/relay/direct.json" <"$fx/route/status-running.jsonl" >"$out/planA" 2>/dev/null
jq '.route.rules += [{"domain_suffix": "swap.test", "action": "reject"}, {"port": [9], "outbound": "block"}]' \
  <(sed 's#^ *//.*##' "$fx/relay/direct.json") >"$out/b.json"
"$sb" plan -c "$out/b.json" <"$fx/route/status-running.jsonl" >"$out/planB" 2>/dev/null
{ [ -s "$out/planA" ] && [ -s "$out/planB" ]; } || die "sb-route plan gave no plan"

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 log_path=$out/tsan ${TSAN_OPTIONS:-}"
mkfifo "$out/plans"
"$relay" --threads 2 --events close --max-connections 400 <"$out/plans" >"$out/relay.out" 2>"$out/relay.err" &
rpid=$!
pids+=("$rpid")
exec 7>"$out/plans"
jq -c '.generation = 1' "$out/planA" >&7
for _ in $(seq 1 200); do grep -q '"type":"listening"' "$out/relay.out" 2>/dev/null && break; kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
grep -q '"type":"listening"' "$out/relay.out" || die "the TSan relay did not start: $(cat "$out/relay.err")"
port=$(grep '"type":"listening"' "$out/relay.out" | head -1 | jq -r '.inbounds[0].port')
echo "tsan: sb-relay (TSan, --threads 2) on 127.0.0.1:$port; ${secs}s of load with a plan swap every 100 ms"

# The plan writer: a new generation every 100 ms until the load ends.
(
  g=2
  while :; do
    if [ $((g % 2)) = 0 ]; then f=$out/planB; else f=$out/planA; fi
    jq -c --argjson g "$g" '.generation = $g' "$f" || exit 0
    g=$((g + 1))
    sleep 0.1
  done
) >&7 2>/dev/null &
wpid=$!
pids+=("$wpid")
python3 -u "$here/tests/load/loadgen.py" soak --proxy "$port" --duration "$secs" --conc 60 --timeout 30 >"$out/soak.out" 2>"$out/soak.err" || true
kill "$wpid" 2>/dev/null || true
kill -0 "$rpid" 2>/dev/null || die "sb-relay stopped during the load (exit status from TSan?)"
done_line=$(grep '"soak_done"' "$out/soak.out" || true)
echo "tsan: load: $done_line"
[ -n "$done_line" ] || die "the load generator did not finish: $(tail -3 "$out/soak.err")"
[ "$(jq .failed <<<"$done_line")" = 0 ] || die "failed connections under TSan: $done_line"
swaps=$(grep -c '"type":"conn"' "$out/relay.out" || true)
gens=$(jq -r 'select(.type == "conn") | .generation' "$out/relay.out" | sort -un | wc -l)
echo "tsan: $swaps connections seen under $gens plan generations"
[ "$gens" -ge 10 ] || die "too few plan generations reached connections ($gens)"

# A second TSan relay at a cap of 20 (refusals on both threads) — standalone config.
"$relay" --threads 2 --events close --max-connections 20 -c "$fx/relay/direct.json" </dev/null >"$out/cap.out" 2>"$out/cap.err" &
cpid=$!
pids+=("$cpid")
for _ in $(seq 1 200); do grep -q '"type":"listening"' "$out/cap.out" 2>/dev/null && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
cport=$(grep '"type":"listening"' "$out/cap.out" | head -1 | jq -r '.inbounds[0].port')
# SIGHUP reloads the config (standalone mode) every 200 ms while the cap phase runs: one more swap
# path (TSAN_SIGHUP=0 turns it off).
hpid=
if [ "${TSAN_SIGHUP:-1}" = 1 ]; then
  ( while kill -HUP "$cpid" 2>/dev/null; do sleep 0.2; done ) &
  hpid=$!
  pids+=("$hpid")
fi
cap_line=$(python3 -u "$here/tests/load/loadgen.py" cap --proxy "$cport" --admit 20 --over 40 --timeout 30 2>>"$out/soak.err")
if [ -n "$hpid" ]; then kill "$hpid" 2>/dev/null || true; wait "$hpid" 2>/dev/null || true; fi
echo "tsan: cap: $cap_line"
[ -n "$hpid" ] && echo "tsan: SIGHUP reloads during the cap phase: $(grep -c 'SIGHUP: config reloaded' "$out/cap.err")"
[ "$(jq '.admitted_failed + .push_failed + .over_failed' <<<"$cap_line")" = 0 ] || die "cap phase: $cap_line"

for p in "$rpid" "$cpid"; do
  kill -0 "$p" 2>/dev/null || die "a TSan relay died"
  kill -TERM "$p"
  rc=0; wait "$p" || rc=$?
  [ "$rc" = 0 ] || die "sb-relay exited $rc on SIGTERM (66 = a TSan report)"
done
exec 7>&-
if ls "$out"/tsan.* >/dev/null 2>&1 || grep -q 'ThreadSanitizer' "$out/relay.err" "$out/cap.err"; then
  die "ThreadSanitizer reports"
fi
echo "tsan: no data race reported"
