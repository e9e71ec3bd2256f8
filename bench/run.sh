#!/usr/bin/env bash
# make bench: every benchmark side by side in one run, results to bench/RESULTS.md with the
# commands that produced them. Benchmarks are not tests: they measure, they do not pass or fail.
# Usage: bench/run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
results=$here/RESULTS.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores,"
  echo "$(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "Peers run on the same machine in the same run, so compare ratios, not absolute figures across runs."
  echo
} >"$tmp"
for section in status route relay; do
  script=$here/$section.sh
  [ -f "$script" ] || continue
  echo "bench: $section…" >&2
  if ! bash "$script" "$build" >>"$tmp"; then
    echo "bench: $section failed; see above" >&2
    printf '## %s\n\nNot measured in this run: bench/%s.sh failed.\n\n' "$section" "$section" >>"$tmp"
  fi
done
mv "$tmp" "$results"
trap - EXIT
echo "bench: wrote $results" >&2
