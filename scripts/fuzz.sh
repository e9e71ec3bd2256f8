#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan) in build-fuzz and runs each one
# for a bounded time on a working copy of its corpus (the committed fuzz/corpus is never grown),
# with its regression inputs and dictionary. Prints a markdown table per target: executions,
# exec/s, coverage (cov: and ft: from libFuzzer's final lines), corpus, crashes.
# FUZZ_SEED=N fixes libFuzzer's seed (0 or unset: random; --smoke: 1 unless set), so a smoke run
# in CI tries the same inputs as here, in the same order, as far as its time allows.
#
#   scripts/fuzz.sh                  every target, 60 s each (FUZZ_TIME overrides)
#   scripts/fuzz.sh --smoke          every target, 10 s each, seed 1 (make test)
#   scripts/fuzz.sh --time 300 http_proxy socks5
#   scripts/fuzz.sh --report docs/fuzz-run.md
#
# Exit 0 when no target crashed, leaked, timed out or ran out of memory; 1 otherwise (the inputs
# are in build-fuzz/fuzz-artifacts/<target>/); 2 on usage; 3 when clang or libFuzzer is missing.
# One fuzzer process at a time (no -jobs/-workers): the machine is shared.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FUZZ_BUILD:-$ROOT/build-fuzz}"
TIME="${FUZZ_TIME:-60}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
TIMEOUT_S="${FUZZ_TIMEOUT:-10}"
SEED="${FUZZ_SEED:-0}"
JOBS="${FUZZ_JOBS:-2}"
REPORT=""
targets=()

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) TIME=10; SEED="${FUZZ_SEED:-1}" ;;
    --time) TIME="${2:?--time needs seconds}"; shift ;;
    --report) REPORT="${2:?--report needs a file}"; shift ;;
    --build) BUILD="${2:?--build needs a folder}"; shift ;;
    -h|--help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *) targets+=( "$1" ) ;;
  esac
  shift
done
case "$TIME" in ''|*[!0-9]*) echo "fuzz.sh: --time wants whole seconds" >&2; exit 2 ;; esac
case "$SEED" in ''|*[!0-9]*) echo "fuzz.sh: FUZZ_SEED wants a whole number" >&2; exit 2 ;; esac

if [ ${#targets[@]} -eq 0 ]; then
  for f in "$ROOT"/fuzz/*_fuzz.cpp; do
    n="$(basename "$f" _fuzz.cpp)"
    targets+=( "$n" )
  done
fi

# clang and its libFuzzer/sanitizer runtimes (libclang-rt-14-dev): a missing toolchain is a
# failure, never a silent pass.
CC_BIN="${CC:-clang}"; CXX_BIN="${CXX:-clang++}"
case "$CXX_BIN" in *clang*) ;; *) CC_BIN=clang; CXX_BIN=clang++ ;; esac
if ! command -v "$CXX_BIN" >/dev/null; then
  echo "fuzz.sh: FAILED: $CXX_BIN not found; install clang and libclang-rt-14-dev (make deps)" >&2
  exit 3
fi
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  > "$probe_dir/probe.cpp"
if ! "$CXX_BIN" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" \
     2> "$probe_dir/probe.log"; then
  cat "$probe_dir/probe.log" >&2
  echo "fuzz.sh: FAILED: $CXX_BIN cannot link -fsanitize=fuzzer; install libclang-rt-14-dev (make deps)" >&2
  exit 3
fi

started=$SECONDS
echo "fuzz.sh: building $BUILD with $CXX_BIN (TB_FUZZ=ON)" >&2
CC="$CC_BIN" CXX="$CXX_BIN" cmake -S "$ROOT" -B "$BUILD" -DTB_FUZZ=ON -DTB_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$probe_dir/configure.log" 2>&1 \
  || { cat "$probe_dir/configure.log" >&2; echo "fuzz.sh: FAILED: configure" >&2; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target fuzz_all >&2
build_s=$(( SECONDS - started ))

field() {  # field LOG NAME: the value of libFuzzer's "stat::NAME: value" line
  sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}
last_stat() {  # last_stat LOG KEY: the number after "KEY: " on the last status line that has it
  { grep -o "$2: [0-9/a-zA-Z]*" "$1" || true; } | tail -n 1 | sed "s/^$2: //"
}

mkdir -p "$BUILD/fuzz-logs"
table="| target | time (s) | executions | exec/s | cov | ft | corpus (files/bytes) | new units | peak RSS (MB) | crashes | result |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
commands=""
failed=0
failures=""
for t in "${targets[@]}"; do
  exe="$BUILD/fuzz/${t}_fuzz"
  if [ ! -x "$exe" ]; then
    echo "fuzz.sh: no fuzz target $t ($exe)" >&2
    exit 2
  fi
  work="$BUILD/fuzz-work/$t"; art="$BUILD/fuzz-artifacts/$t"; log="$BUILD/fuzz-logs/$t.log"
  rm -rf "$work" "$art"; mkdir -p "$work" "$art"
  # The working copy: seeds and regression inputs. New units go here, never into fuzz/corpus.
  for src in "$ROOT/fuzz/corpus/$t" "$ROOT/fuzz/regressions/$t"; do
    if [ -d "$src" ]; then find "$src" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$work/" \; ; fi
  done
  opts=( -max_total_time="$TIME" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT_S" -print_final_stats=1
         -artifact_prefix="$art/" )
  [ "$SEED" != 0 ] && opts+=( -seed="$SEED" )
  [ -f "$ROOT/fuzz/dict/$t.dict" ] && opts+=( -dict="$ROOT/fuzz/dict/$t.dict" )
  # sb-route's reader reports every bad line on stderr; libFuzzer keeps its own output.
  [ "$t" = status_record ] && opts+=( -close_fd_mask=2 )
  cmd="$exe ${opts[*]} $work"
  commands+="${cmd//$ROOT\//}"$'\n'
  echo "fuzz.sh: $t: ${TIME}s (log $log)" >&2
  t0=$SECONDS
  set +e
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
    "$exe" "${opts[@]}" "$work" > "$log" 2>&1
  rc=$?
  set -e
  took=$(( SECONDS - t0 ))
  execs="$(field "$log" number_of_executed_units)"; eps="$(field "$log" average_exec_per_sec)"
  newu="$(field "$log" new_units_added)"; rss="$(field "$log" peak_rss_mb)"
  cov="$(last_stat "$log" cov)"; ft="$(last_stat "$log" ft)"
  files="$(find "$work" -type f | wc -l)"; bytes="$(find "$work" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
  crashes="$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  result=ok
  if [ "$crashes" -gt 0 ] || [ $rc -ne 0 ]; then
    # What failed, where and with which seed, on one line: CI shows only the end of the output.
    seed="$(sed -n 's/^INFO: Seed: \([0-9]*\).*/\1/p' "$log" | head -n 1)"
    why="$(grep -m 1 -E 'ERROR: |runtime error|invariant failed' "$log" | cut -c1-160 || true)"
    if [ "$crashes" -gt 0 ]; then
      result="CRASH (build-fuzz/fuzz-artifacts/$t)"
      grep -m 3 -E 'ERROR: |runtime error|invariant failed|SUMMARY' "$log" >&2 || true
    else
      result="FAILED rc=$rc (see $log)"
      tail -n 20 "$log" >&2
    fi
    failed=1
    failures+="fuzz.sh: $t: ${why:-exit $rc} (seed ${seed:-?}; inputs: $(find "$art" -type f | head -n 3 | tr '\n' ' ')log: $log)"$'\n'
  fi
  table+=$'\n'"| $t | $took | ${execs:-?} | ${eps:-?} | ${cov:-?} | ${ft:-?} | $files/$bytes | ${newu:-?} | ${rss:-?} | $crashes | $result |"
done
total_s=$(( SECONDS - started ))

summary="$table

Per target ${TIME} s, seed $([ "$SEED" = 0 ] && echo random || echo "$SEED"), -rss_limit_mb=$RSS_MB, -timeout=$TIMEOUT_S; clang build ${build_s} s; whole run ${total_s} s ($(date -u +%Y-%m-%dT%H:%MZ), $("$CXX_BIN" --version | head -n 1)).

Commands (from the repository root, after \`scripts/fuzz.sh\` built $(basename "$BUILD")):

\`\`\`sh
${commands}\`\`\`"
echo "$summary"
if [ -n "$REPORT" ]; then
  mkdir -p "$(dirname "$REPORT")"
  echo "$summary" > "$REPORT"
  echo "fuzz.sh: report written to $REPORT" >&2
fi
if [ $failed -ne 0 ]; then
  printf '%s' "$failures" >&2
  echo "fuzz.sh: FAILED: a target crashed or failed (inputs in $BUILD/fuzz-artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, no crash (${total_s} s including the build)" >&2
