#!/usr/bin/env bash
# sb-route plan and decide wait on stdin for the next record; SIGTERM or SIGINT there ends them at
# once with exit 130 (tailbox-proxy stops its stages with SIGTERM), and a record that was handled
# before the signal is complete on stdout.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
route=$(tool sb-route)
cfg=$TB_FIXTURES/relay/direct.json
status='{"v":1,"type":"status","backend_state":"Running","state":"running","tun":true,"self":{"ips":["100.64.0.1"]},"peers":[]}'

for sub in plan decide; do
  for sig in TERM INT; do
    mkfifo "$t/in.$sub.$sig"
    "$route" -c "$cfg" "$sub" <"$t/in.$sub.$sig" >"$t/out.$sub.$sig" 2>"$t/err.$sub.$sig" &
    pid=$!
    track_pid "$pid"
    exec 7>"$t/in.$sub.$sig"
    if [ "$sub" = plan ]; then echo "$status" >&7; else echo '{"destination":"1.1.1.1:53","network":"udp"}' >&7; fi
    for ((i = 0; i < 100; i++)); do [ -s "$t/out.$sub.$sig" ] && break; sleep 0.05; done
    [ -s "$t/out.$sub.$sig" ] || fail "$sub printed nothing for its first record: $(cat "$t/err.$sub.$sig")"
    kill -"$sig" "$pid"
    wait_exit "$pid" 130 5 "$sub after SIG$sig while it waits on stdin" "$t/err.$sub.$sig"
    exec 7>&-
    jq -e . "$t/out.$sub.$sig" >/dev/null || fail "$sub: stdout is not complete JSON after SIG$sig"
  done
done
echo ok
