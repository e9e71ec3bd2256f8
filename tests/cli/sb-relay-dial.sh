#!/usr/bin/env bash
# sb-relay's Local API dial transport (man/sb-relay.1, TAILNET TRANSPORTS) against stand-ins; the
# real daemon is tests/tailnet/pipeline-dial-real.sh.
#   - a stand-in that answers 101 and then forwards (as tailscaled does) carries the connection,
#     and got exactly the headers of tailscale.com v1.102.5 client/local UserDial;
#   - one that answers 200 with Dial-Self and Dial-Addr: sb-relay dials that address itself;
#   - fake_tailscaled has no dial endpoint (404): a forced dial fails with it in the conn record;
#   - no daemon at the socket: the error names the socket;
#   - a bad --tailscale-transport is a usage error (2), and so is a TAG=MODE whose TAG names no
#     tailscale endpoint of the config (a typo, or a direct outbound); a SIGHUP reload to a config
#     without the TAG keeps serving and says, on one line, that the flag applies to nothing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/relay-lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
relay=$(tool sb-relay)
start_http 127.0.0.1
cat >"$t/c.json" <<'JSON'
{"endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
 "inbounds": [{"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": 0}],
 "route": {"final": "ts-ep"}}
JSON

# A dial stand-in on a Unix socket: MODE upgrade (101, then a byte pipe to Dial-Host:Dial-Port)
# or self (200, Dial-Self: true, Dial-Addr: 127.0.0.1:PORT). Logs each request head as one JSON line.
cat >"$t/dial.py" <<'PY'
import json, os, socket, sys, threading
path, mode, log = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(16)
print("ready", flush=True)
def pipe(a, b):
    while (d := a.recv(65536)): b.sendall(d)
    b.shutdown(socket.SHUT_WR)
def serve(c):
    head = b""
    while b"\r\n\r\n" not in head: head += c.recv(1)
    lines = head.decode().split("\r\n")
    h = {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    with open(log, "a") as f: f.write(json.dumps({"request": lines[0], **h}) + "\n")
    if mode == "self":
        c.sendall(b"HTTP/1.1 200 OK\r\nDial-Self: true\r\nDial-Addr: 127.0.0.1:%s\r\nContent-Length: 0\r\n\r\n" % h["Dial-Port"].encode())
        return c.close()
    up = socket.create_connection((h["Dial-Host"], int(h["Dial-Port"])))
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: ts-dial\r\n\r\n")
    threading.Thread(target=pipe, args=(up, c), daemon=True).start()
    pipe(c, up)
while True:
    threading.Thread(target=serve, args=(srv.accept()[0],), daemon=True).start()
PY
fetch() { curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$RELAY_PORT" -o "$t/got" "$@"; }

for mode in upgrade self; do
  python3 "$t/dial.py" "$t/$mode.sock" "$mode" "$t/$mode.log" >"$t/$mode.ready" 2>"$t/$mode.err" &
  track_pid $!
  wait_for 10 grep -q ready "$t/$mode.ready"
  start_relay "r-$mode" -c "$t/c.json" --socket "$t/$mode.sock" --tailscale-transport ts-ep=dial --events close
  fetch "http://localhost:$HTTP_PORT/hello.txt" || fail "$mode: fetch failed: $(cat "$t/r-$mode.out")"
  cmp -s "$t/got" "$t/www/hello.txt" || fail "$mode: other bytes"
  jq -e --arg p "$HTTP_PORT" '.request == "POST /localapi/v0/dial HTTP/1.1" and .Host == "local-tailscaled.sock"
    and .Upgrade == "ts-dial" and .Connection == "upgrade" and ."Dial-Host" == "localhost" and ."Dial-Port" == $p
    and ."Dial-Network" == "tcp"' "$t/$mode.log" >/dev/null || fail "$mode: the request was $(cat "$t/$mode.log")"
  stop_pids "$RELAY_PID"
done
echo "ok: 101 then the stream, and Dial-Self dialled by sb-relay"

# fake_tailscaled has no dial endpoint: 404, in the conn record of the failed connection.
start_fake
start_relay r404 -c "$t/c.json" --socket "$FAKE_SOCK" --tailscale-transport ts-ep=dial --events close
fetch "http://localhost:$HTTP_PORT/hello.txt" 2>/dev/null && fail "a daemon without dial carried the connection"
wait_conns r404 1
conn_records r404 | jq -e --arg s "$FAKE_SOCK" '.error == "tailscaled dial at \($s): HTTP 404: 404 page not found"' >/dev/null \
  || fail "404: $(conn_records r404)"
stop_pids "$RELAY_PID"
start_relay rnone -c "$t/c.json" --socket "$t/nobody.sock" --tailscale-transport dial --events close
fetch "http://localhost:$HTTP_PORT/hello.txt" 2>/dev/null && fail "no daemon, yet the connection was carried"
wait_conns rnone 1
conn_records rnone | jq -e --arg s "$t/nobody.sock" '.error | startswith("tailscaled dial at \($s): ")' >/dev/null \
  || fail "no daemon: $(conn_records rnone)"
echo "ok: errors: $(conn_records r404 | jq -r .error); $(conn_records rnone | jq -r .error)"

rc=0; "$relay" -c "$t/c.json" --tailscale-transport sideways >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--tailscale-transport sideways: want auto, dial or socks5' "$t/err" || fail "bad mode: $rc $(cat "$t/err")"
rc=0; "$relay" -c "$t/c.json" --tailscale-transport =dial >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 2 ] || fail "empty tag: $rc $(cat "$t/err")"
for tag in ts-typo direct; do
  printf '{"outbounds": [{"type": "direct", "tag": "direct"}]}\n' >"$t/direct.json"
  rc=0; "$relay" -c "$t/c.json" -c "$t/direct.json" --tailscale-transport "$tag=dial" >"$t/out" 2>"$t/err" || rc=$?
  [ "$rc" = 2 ] || fail "--tailscale-transport $tag=dial: exit $rc, want 2: $(cat "$t/err")"
  [ "$(cat "$t/err")" = "sb-relay: --tailscale-transport $tag=dial: the config has no tailscale endpoint \"$tag\" (its tailscale endpoints: ts-ep)" ] ||
    fail "--tailscale-transport $tag=dial: $(cat "$t/err")"
  [ ! -s "$t/out" ] || fail "--tailscale-transport $tag=dial: records on stdout: $(cat "$t/out")"
done
# A reload to a config whose endpoint has another tag: one line, and the relay keeps serving.
cp "$t/c.json" "$t/live.json"
start_relay rhup -c "$t/live.json" --socket "$FAKE_SOCK" --tailscale-transport ts-ep=dial --events close
sed 's/"ts-ep"/"ts-other"/g' "$t/c.json" >"$t/live.json"
kill -HUP "$RELAY_PID"
wait_for 10 grep -q "config reloaded" "$t/rhup.err"
grep -qx 'sb-relay: --tailscale-transport ts-ep=dial: the config has no tailscale endpoint "ts-ep" (its tailscale endpoints: ts-other); it applies to nothing' "$t/rhup.err" ||
  fail "reload without the tag: $(cat "$t/rhup.err")"
kill -0 "$RELAY_PID" || fail "the relay stopped after the reload"
echo ok
