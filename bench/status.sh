#!/usr/bin/env bash
# ts-status --json against the stand-in daemon serving a generated 2000-peer status, side by side
# with `curl --unix-socket … | jq -c .` fetching the same document, in one run.
# Prints a Markdown section on stdout (bench/run.sh collects it into RESULTS.md).
# Usage: bench/status.sh BUILD_DIR [RUNS]
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd); runs=${2:-30}
ts=$build/cmd/ts-status/ts-status
fake=$build/tests/fakes/fake_tailscaled
# Commands are shown with the build directory relative to the repository (RESULTS.md is committed:
# no path of one machine in it).
root=$(cd "$(dirname "$0")/.." && pwd)
case $build/ in "$root"/*) shown=${build#"$root"/} ;; *) shown=BUILD_DIR ;; esac
for x in "$ts" "$fake"; do [ -x "$x" ] || { echo "bench/status.sh: $x not built" >&2; exit 69; }; done
for c in hyperfine jq curl python3; do command -v $c >/dev/null || { echo "bench/status.sh: $c missing" >&2; exit 69; }; done

dir=$(mktemp -d "${TMPDIR:-/tmp}/tb-bench.XXXXXX")
fake_pid=""
trap '[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; rm -rf "$dir"' EXIT
sock=$dir/tailscaled.sock
mkfifo "$dir/ready"
"$fake" --socket "$sock" --generate-peers 2000 >"$dir/ready" 2>"$dir/fake.err" &
fake_pid=$!
read -r -t 10 _ <"$dir/ready" || { echo "bench/status.sh: fake did not start" >&2; exit 69; }
url=http://local-tailscaled.sock/localapi/v0/status
bytes=$(curl -s --unix-socket "$sock" "$url" | wc -c)

ts_cmd="$ts --socket $sock --json"
curl_cmd="curl -s --unix-socket $sock $url | jq -c ."
hyperfine -N --warmup 3 --runs "$runs" --export-json "$dir/wall.json" \
  -n ts-status "$ts_cmd" >/dev/null 2>&1
hyperfine --warmup 3 --runs "$runs" --export-json "$dir/wall2.json" \
  -n curl+jq "$curl_cmd" >/dev/null 2>&1
hyperfine -N --warmup 5 --runs 100 --export-json "$dir/help.json" -n help "$ts --help" >/dev/null 2>&1

# Peak RSS (KiB): the median of several runs; for the pipeline, curl's and jq's peaks added, since
# both run at once.
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }
curl -s --unix-socket "$sock" "$url" >"$dir/doc.json"
ts_rss=$(for i in 1 2 3 4 5; do rss $ts_cmd; done | median)
curl_rss=$(for i in 1 2 3 4 5; do rss curl -s --unix-socket "$sock" "$url"; done | median)
jq_rss=$(for i in 1 2 3 4 5; do rss jq -c . "$dir/doc.json"; done | median)
pipe_rss=$((curl_rss + jq_rss))

python3 - "$dir" "$ts_rss" "$pipe_rss" "$curl_rss" "$jq_rss" "$bytes" "$runs" <<'PY'
import json, sys
d, ts_rss, pipe_rss, curl_rss, jq_rss, size, runs = sys.argv[1], *map(int, sys.argv[2:])
med = lambda f: json.load(open(f"{d}/{f}"))["results"][0]["median"] * 1000
ts, pipe, helpt = med("wall.json"), med("wall2.json"), med("help.json")
print("## ts-status --json on a 2000-peer tailnet\n")
print(f"The stand-in daemon serves a generated status of 2000 peers ({size/1024:.0f} KiB). Medians of {runs} runs (hyperfine), peak RSS medians of 5 (GNU time).\n")
print("| command | median wall | peak RSS |")
print("|---|---|---|")
print(f"| `ts-status --json` | {ts:.1f} ms | {ts_rss/1024:.1f} MiB |")
print(f"| `curl --unix-socket … \\| jq -c .` | {pipe:.1f} ms | {pipe_rss/1024:.1f} MiB (curl {curl_rss/1024:.1f} + jq {jq_rss/1024:.1f}) |")
print(f"| ratio ts-status / curl+jq | **{ts/pipe:.2f}×** | **{ts_rss/pipe_rss:.2f}×** |\n")
print(f"`ts-status --help` start-up: median **{helpt:.2f} ms** (goal < 5 ms).\n")
print("Goal: tailbox faster than the curl and jq pipeline: " + ("**met**" if ts < pipe else "**not met**") + ".\n")
PY
cat <<MD
Commands:

\`\`\`sh
$shown/tests/fakes/fake_tailscaled --socket SOCK --generate-peers 2000
hyperfine -N --warmup 3 --runs $runs '$shown/cmd/ts-status/ts-status --socket SOCK --json'
hyperfine --warmup 3 --runs $runs 'curl -s --unix-socket SOCK $url | jq -c .'
hyperfine -N --warmup 5 --runs 100 '$shown/cmd/ts-status/ts-status --help'
/usr/bin/time -f %M <each command>   # peak RSS
\`\`\`

MD
