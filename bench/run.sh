#!/usr/bin/env bash
# make bench: every benchmark side by side in one run, results to bench/RESULTS.md with the
# commands that produced them. Benchmarks measure; a goal not met is reported, not a failure. A
# peer or server that does not start IS a failure: the section says so, and run.sh exits 1 at the
# end (after writing what it measured), rather than measuring whatever holds a port.
# Usage: bench/run.sh BUILD_DIR
#   BENCH_SECS (2)          seconds per throughput or connection-rate figure
#   BENCH_RUNS (2)          loopback runs, each the median of BENCH_REPS (3) repetitions
#   BENCH_TAILNET_RUNS (1)  the same for the tailnet (bench/tailnet.py)
#   BENCH_SECTIONS          which sections (default: status route startup relay tailnet)
#   BENCH_NOTE              a sentence on the conditions, printed at the top of RESULTS.md
#   BENCH_OUT               where to write (default bench/RESULTS.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
results=${BENCH_OUT:-$here/RESULTS.md}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores,"
  echo "$(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "Peers run on the same machine in the same run, so compare ratios, not absolute figures across runs."
  [ -z "${BENCH_NOTE:-}" ] || { echo; echo "**Conditions:** $BENCH_NOTE"; }
  echo
  echo "Reproduce: \`make bench\` (installs the peers with scripts/install-deps.sh --bench, builds the tools, tbload,"
  echo "the splice relay, the lab and sing-box, then runs bench/run.sh BUILD). Every figure below is measured by the"
  echo "scripts in bench/ with tbload (bench/tbload.cpp); the commands are under each section."
  echo
} >"$tmp"
failed=0
for section in ${BENCH_SECTIONS:-status route startup relay tailnet}; do
  if [ -f "$here/$section.sh" ]; then cmd=(bash "$here/$section.sh" "$build"); else cmd=(python3 "$here/$section.py" "$build"); fi
  # The loopback relay section in a network namespace of its own, where closed connections skip
  # TIME_WAIT beyond 4096 (bench/relay.py says so in its section): dante binds each outgoing
  # socket, and at an idle machine's connection rates it ran out of ephemeral ports.
  if [ "$section" = relay ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    cmd=(unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv4.tcp_max_tw_buckets=4096 && TB_BENCH_NETNS=1 exec "$@"' sh "${cmd[@]}")
  fi
  echo "bench: $section…" >&2
  rc=0
  "${cmd[@]}" >"$tmp.section" 2>"$tmp.err" || rc=$?
  cat "$tmp.err" >&2
  if [ "$rc" = 0 ]; then
    cat "$tmp.section" >>"$tmp"
  elif [ "$rc" = 77 ]; then
    printf '## %s\n\nNot measured here: %s\n\n' "$section" "$(tail -1 "$tmp.err")" >>"$tmp"
  else
    failed=1
    echo "bench: $section FAILED ($rc); see above" >&2
    if [ -s "$tmp.section" ]; then  # what it measured, with the part that did not start named in it
      cat "$tmp.section" >>"$tmp"
    else
      printf '## %s\n\n**Not measured in this run: bench/%s failed (exit %s):** %s\n\n' "$section" "${cmd[1]##*/}" "$rc" \
        "$(tail -1 "$tmp.err")" >>"$tmp"
    fi
  fi
done
rm -f "$tmp.section" "$tmp.err"
# Sections measured once by hand (their scripts and commands are in them): carried into every RESULTS.md.
for f in "$here"/sections/*.md "$here/agreement.md"; do [ ! -f "$f" ] || cat "$f" >>"$tmp"; done
mv "$tmp" "$results"
trap - EXIT
echo "bench: wrote $results" >&2
[ "$failed" = 0 ] || { echo "bench: a section failed: its peer or server did not start or answer" >&2; exit 1; }
