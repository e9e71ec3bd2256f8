#!/usr/bin/env bash
# bench/relay.sh BUILD_DIR: sb-relay side by side with the splice relay and the Debian peers
# (microsocks, dante, v2ray), through bench/peers/bench.sh. Prints a Markdown section on stdout
# with the median table, sb-relay's ratios and the commands that ran. bench.sh builds sbbench and
# splice_relay into its own temp dir and starts the sink, echo, splice relay and the peers itself;
# this script only starts sb-relay (a mixed inbound on a kernel-chosen loopback port, events none)
# and passes it as --extra. Called by bench/run.sh; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))
build=${1:-build}
case $build in /*) ;; *) [ -d "$build" ] || build=$root/$build ;; esac
build=$(cd "$build" && pwd)
relay=$build/cmd/sb-relay/sb-relay
bench=$here/peers/bench.sh
# Commands are shown relative to the repository (RESULTS.md is committed: no path of one machine).
case $build/ in "$root"/*) shown=${build#"$root"/} ;; *) shown=BUILD_DIR ;; esac
RUNS=${RELAY_BENCH_RUNS:-3}
SECS=${RELAY_BENCH_SECS:-3}
[ -x "$relay" ] || { echo "bench/relay.sh: $relay not built" >&2; exit 1; }
[ -f "$bench" ] || { echo "bench/relay.sh: $bench not found" >&2; exit 1; }
command -v gcc >/dev/null && command -v python3 >/dev/null || { echo "bench/relay.sh: needs gcc and python3" >&2; exit 1; }

w=$(mktemp -d)
relay_pid=
cleanup() {
  if [ -n "$relay_pid" ]; then
    kill -TERM "$relay_pid" 2>/dev/null || true
    timeout 10 tail --pid="$relay_pid" -f /dev/null 2>/dev/null || kill -KILL "$relay_pid" 2>/dev/null || true
  fi
  rm -rf "$w"
}
trap cleanup EXIT
# 1000 held connections need ~2000 descriptors in each proxy and in the load generator.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cat >"$w/relay.json" <<'JSON'
{"inbounds": [{"type": "mixed", "tag": "bench", "listen": "127.0.0.1", "listen_port": 0}],
 "outbounds": [{"type": "direct", "tag": "direct"}],
 "route": {"final": "direct"}}
JSON
mkfifo "$w/relay.fifo"
"$relay" --events none -c "$w/relay.json" </dev/null >"$w/relay.fifo" 2>"$w/relay.err" &
relay_pid=$!
exec {rfd}<"$w/relay.fifo"
line=
read -r -t 10 -u "$rfd" line || { echo "bench/relay.sh: sb-relay did not listen within 10 s: $(cat "$w/relay.err")" >&2; exit 1; }
port=$(printf '%s\n' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["inbounds"][0]["port"])')
# Keep draining its stdout so it can never block on a full pipe.
cat <&"$rfd" >/dev/null &
exec {rfd}<&-

cmd_relay="$shown/cmd/sb-relay/sb-relay --events none -c relay.json   # mixed inbound on 127.0.0.1:0 -> port $port"
cmd_bench="bash bench/peers/bench.sh --extra sb-relay=127.0.0.1:$port --runs $RUNS --secs $SECS"
echo "bench: relay: $cmd_bench" >&2
bash "$bench" --extra "sb-relay=127.0.0.1:$port" --runs "$RUNS" --secs "$SECS" >"$w/bench.out" 2>"$w/bench.err" || {
  echo "bench/relay.sh: bench.sh failed: $(tail -5 "$w/bench.err")" >&2
  exit 1
}
kill -0 "$relay_pid" 2>/dev/null || { echo "bench/relay.sh: sb-relay died during the run: $(tail -5 "$w/relay.err")" >&2; exit 1; }

python3 - "$w/bench.out" "$cmd_relay" "$cmd_bench" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys
out, cmd_relay, cmd_bench, ncpu, load = sys.argv[1:6]
lines = open(out).read().splitlines()
# Medians from the per-run lines at full precision (bench.sh's own table rounds to 3 digits).
import statistics, collections
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for l in lines:
    if not l.startswith("run="):
        continue
    kv = dict(x.split("=", 1) for x in l.split() if "=" in x)
    for k, v in kv.items():
        try:
            runs[kv["name"]][k].append(float(v))
        except ValueError:
            pass
if "sb-relay" not in runs:
    sys.exit("bench/relay.sh: bench.sh measured no sb-relay line")
table = {n: collections.defaultdict(lambda: None, {k: statistics.median(v) for k, v in d.items() if v}) for n, d in runs.items()}
names = list(table)
peers = [n for n in ("microsocks", "dante", "v2ray") if n in table]
# figure, column, higher is better, goal vs splice, goal vs best peer
figures = [
    ("throughput, 1 stream (GB/s)", "tput1", True, 0.9, 1.0),
    ("throughput, 8 streams (GB/s)", "tput8", True, 0.9, 1.0),
    ("conn/s, concurrency 1", "c1_conn/s", True, None, 1.2),
    ("conn/s, concurrency 64", "c64_conn/s", True, None, 1.2),
    ("p99 latency at concurrency 64 (µs)", "c64_p99_us", False, None, 1.0),
    ("RSS idle (kB)", "rss_start_kb", False, None, 1.0),
    ("RSS with 1000 relayed connections (kB)", "rss_1000_kb", False, None, 1.0),
]
def fmt(v):
    if v is None:
        return "–"
    return ("%.3g" % v) if abs(v) < 1000 else "%d" % round(v)
def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b
p = print
p("## relay: sb-relay against the splice relay and its peers")
p()
p("Loopback SOCKS5, medians of %s runs of bench/peers/bench.sh (sbbench load generator on the same %s cores; load average %s before the run)." % (cmd_bench.split("--runs ")[1].split()[0], ncpu, load))
p("Compare ratios within this run, not absolute figures across runs.")
p()
p("| figure | " + " | ".join(names) + " | sb-relay / splice | sb-relay / best peer | goal | met |")
p("|---|" + "---|" * len(names) + "---|---|---|---|")
for label, col, higher, g_splice, g_peer in figures:
    sb = table.get("sb-relay", {}).get(col)
    sp = table.get("splice", {}).get(col)
    pv = [(table[n].get(col), n) for n in peers if table[n].get(col) is not None]
    best = (max(pv) if higher else min(pv)) if pv else (None, None)
    r_sp, r_pe = ratio(sb, sp), ratio(sb, best[0])
    goals, met = [], []
    if g_splice is not None:
        goals.append("≥ %.1f× splice" % g_splice)
        met.append(r_sp is not None and r_sp >= g_splice)
    if higher:
        goals.append("≥ %s× best peer" % ("%.1f" % g_peer if g_peer != 1.0 else "1"))
        met.append(r_pe is not None and r_pe >= g_peer)
    else:
        goals.append("≤ best peer")
        met.append(r_pe is not None and r_pe <= g_peer)
    p("| %s | %s | %s | %s | %s | %s |" % (
        label, " | ".join(fmt(table[n].get(col)) for n in names),
        "–" if r_sp is None else "%.2f×" % r_sp,
        "–" if r_pe is None else "%.2f× (%s)" % (r_pe, best[1]),
        ", ".join(goals), "yes" if all(met) else "**no**"))
p()
p("Ratios are sb-relay's figure divided by the other's: above 1 is better for throughput and conn/s, below 1 is better for latency and RSS.")
p("`direct` is the load generator without a proxy; `splice` is bench/peers/splice_relay.c.")
p()
p("Commands:")
p()
p("```")
p("# bench/relay.sh BUILD_DIR")
p(cmd_relay)
p(cmd_bench)
p("```")
p()
p("<details><summary>bench.sh output, one line per measurement</summary>")
p()
p("```")
for l in lines:
    p(l)
p("```")
p()
p("</details>")
p()
PY
