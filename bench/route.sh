#!/usr/bin/env bash
# sb-route's decision engine: decisions per second on one thread at 100, 10k and 100k rules of
# each kind, and plan compile time and memory (Google Benchmark, medians of 3 repetitions).
# Prints a Markdown section on stdout. Usage: bench/route.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
exe=$build/bench/route_bench
root=$(cd "$(dirname "$0")/.." && pwd)
case $build/ in "$root"/*) shown=${build#"$root"/} ;; *) shown=BUILD_DIR ;; esac
[ -x "$exe" ] || { echo "bench/route.sh: $exe not built (configure with -DTB_BENCH=ON)" >&2; exit 69; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
args=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time=0.3 --benchmark_format=json)
"$exe" "${args[@]}" >"$out" 2>/dev/null
python3 - "$out" <<'PY'
import json, sys, collections
data = json.load(open(sys.argv[1]))
dec = collections.defaultdict(dict); comp = collections.defaultdict(dict)
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median": continue
    fam, kind, n = b["run_name"].split("/")[:3]
    n = int(n)
    if fam == "decide": dec[kind][n] = b["decisions/s"]
    elif fam == "compile": comp[kind][n] = (b["real_time"], b.get("plan_MiB", 0), b["cpu_time"])
sizes = [100, 10000, 100000]
fmt = lambda v: f"{v/1e6:.2f}M" if v >= 1e6 else f"{v/1e3:.0f}k"
print("## sb-route decisions\n")
print("Decisions per second on one thread (median of 3 repetitions):\n")
print("| rules | " + " | ".join(f"{s:,}" for s in sizes) + " |")
print("|---|" + "---|" * len(sizes))
for kind in ("domain", "domain_suffix", "ip_cidr", "mixed"):
    if kind in dec:
        print(f"| {kind} | " + " | ".join(fmt(dec[kind][s]) if s in dec[kind] else "–" for s in sizes) + " |")
print("\nPlan compile (config JSON → Router with its indexes): wall time, CPU time of the compiling thread, and memory "
      "(on a loaded machine the wall time also counts the time the thread waited for a core):\n")
print("| rules | " + " | ".join(f"{s:,}" for s in sizes) + " |")
print("|---|" + "---|" * len(sizes))
for kind, row in comp.items():
    print(f"| {kind} | " + " | ".join(f"{row[s][0]:.1f} ms (CPU {row[s][2]:.1f} ms) / {row[s][1]:.1f} MiB" if s in row else "–" for s in sizes) + " |")
d100 = min(dec[k][100000] for k in ("domain", "domain_suffix") if k in dec)
ip100 = dec.get("ip_cidr", {}).get(100000, 0)
c100 = max(row[100000][0] for row in comp.values() if 100000 in row)
cpu100 = max(row[100000][2] for row in comp.values() if 100000 in row)
ok = lambda b: "met" if b else "**not met**"
print(f"\nGoals at 100k rules: ≥ 2M domain decisions/s: {fmt(d100)}, {ok(d100 >= 2e6)}; "
      f"≥ 5M IP decisions/s: {fmt(ip100)}, {ok(ip100 >= 5e6)}; compile < 200 ms: wall {c100:.0f} ms, {ok(c100 < 200)}; "
      f"CPU {cpu100:.0f} ms, {ok(cpu100 < 200)}.\n")
PY
cat <<MD
Command: \`$shown/bench/route_bench ${args[*]}\`

MD
