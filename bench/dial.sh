#!/usr/bin/env bash
# bench/dial.sh [RUNS] [SECS]: sb-relay over the Local API dial transport against tailscaled's own
# SOCKS5, in one lab run (tests/tailnet/lab up --userspace: the node's tailscaled in userspace
# networking with --socks5-server=127.0.0.1:1055; the peer's on its kernel TUN). From the node's
# namespace to tbload's sink (5201) and echo (5202) servers on the peer's tailnet address:
#   tailscaled-socks5  tbload --proxy socks5://127.0.0.1:1055 (tailscaled's SOCKS5, no sb-relay)
#   sb-relay-dial      tbload --proxy socks5://127.0.0.1:1080: sb-relay -c (final: ts-ep)
#                      --tailscale-transport ts-ep=dial --socket NODE_SOCK --events none
# Per run and row: throughput with 1 stream, connections per second with 1 and 16 clients; the
# medians of RUNS (default 3) runs of SECS (default 2) seconds each, rows interleaved per run.
# Prints a Markdown table. Needs root and the lab (make lab), and build/bench/tbload.
set -euo pipefail
RUNS=${1:-3} SECS=${2:-2}
. "$(dirname "$0")/../tests/tailnet/lib.sh"
tbl=$TB_SRC/build/bench/tbload
[ -x "$tbl" ] || skip "no $tbl (build the tbload target)"
relay=$(tool sb-relay)
lab_up --userspace
node_login
in_peer() { ip netns exec "$PEER_NS" "$@"; }
for s in sink:5201 echo:5202; do
  in_peer "$tbl" "${s%:*}" --listen "0.0.0.0:${s#*:}" >"$t/${s%:*}.out" 2>&1 &
  track_pid $!
  wait_for 10 grep -q '^ready' "$t/${s%:*}.out"
done
cat >"$t/dial.json" <<'JSON'
{"endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
 "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 1080}],
 "route": {"final": "ts-ep"}}
JSON
in_node "$relay" -c "$t/dial.json" --tailscale-transport ts-ep=dial --socket "$NODE_SOCK" --events none >"$t/relay.out" 2>"$t/relay.err" &
track_pid $!
wait_for 10 grep -q '"type":"listening"' "$t/relay.out"
kv() { tr " " "\n" | awk -F= -v k="$1" '$1 == k {print $2}'; }
declare -A v
for run in $(seq "$RUNS"); do
  for row in tailscaled-socks5 sb-relay-dial; do
    px=socks5://127.0.0.1:1055; [ "$row" = sb-relay-dial ] && px=socks5://127.0.0.1:1080
    tput=$(in_node "$tbl" tput --target "$PEER4:5201" --proxy "$px" --streams 1 --secs "$SECS" | kv GB/s)
    c1=$(in_node "$tbl" conn --target "$PEER4:5202" --proxy "$px" --clients 1 --secs "$SECS" | kv conn/s)
    c16=$(in_node "$tbl" conn --target "$PEER4:5202" --proxy "$px" --clients 16 --secs "$SECS" | kv conn/s)
    v[$row,tput]+="$tput " v[$row,c1]+="$c1 " v[$row,c16]+="$c16 "
    echo "run=$run row=$row tput1_GB/s=$tput conn/s_c1=$c1 conn/s_c16=$c16" >&2
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| figure (median of $RUNS runs of ${SECS}s) | tailscaled SOCKS5 | sb-relay, dial transport | dial / SOCKS5 |"
echo "|---|---|---|---|"
for f in "tput:throughput, 1 stream (MB/s)" "c1:conn/s, 1 client" "c16:conn/s, 16 clients"; do
  k=${f%%:*} label=${f#*:}
  a=$(median <<<"${v[tailscaled-socks5,$k]}") b=$(median <<<"${v[sb-relay-dial,$k]}")
  [ "$k" = tput ] && a=$(awk -v x="$a" 'BEGIN{printf "%.0f", x*1000}') b=$(awk -v x="$b" 'BEGIN{printf "%.0f", x*1000}')
  echo "| $label | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f×", b/a}') |"
done
