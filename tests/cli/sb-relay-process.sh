#!/usr/bin/env bash
# sb-relay's process rules (route.find_process, process_name, process_path, process_path_regex,
# user, user_id): the relay finds the process holding the client's socket and the rules match as
# in sing-box; the conn records name it. Clients: curl, and a small python3 SOCKS5 client; the
# user rules run curl as nobody (setpriv, needs root: that part alone skips otherwise). Without
# find_process and without a process rule there is no lookup ("process": null).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"

start_http 127.0.0.1
web=$HTTP_PORT
curl_path=$(readlink -f "$(command -v curl)")
py_path=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
uid=$(id -u)

# python3 as a SOCKS5 client: CONNECT 127.0.0.1:PORT, GET /hello.txt; prints the body or "reply N".
cat >"$t/client.py" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", int(sys.argv[2])))
r = b""
while len(r) < 10:
    d = s.recv(10 - len(r))
    if not d:
        break
    r += d
if len(r) < 2 or r[1] != 0:
    print("reply", r[1] if len(r) > 1 else "none")
    sys.exit(0)
s.sendall(b"GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
PY

config() {  # config NAME ROUTE-JSON: a mixed inbound on a kernel-chosen port, direct, that route
  jq -n --argjson route "$2" '{
    inbounds: [{type: "mixed", tag: "mixed-in", listen: "127.0.0.1", listen_port: 0}],
    outbounds: [{type: "direct", tag: "direct"}],
    route: ($route + {final: "direct"})}' >"$t/$1.json"
}
via_curl() {  # via_curl PROXY-SCHEME [RUN-AS...]: the body, or curl's error on stdout
  local scheme=$1
  shift
  "$@" curl -sS --max-time 10 --proxy "$scheme://127.0.0.1:$RELAY_PORT" "http://127.0.0.1:$web/hello.txt" 2>&1 || true
}
via_python() { python3 "$t/client.py" "$RELAY_PORT" "$web"; }
# last_conn NAME JQ: the last close record of NAME satisfies JQ.
last_conn() {
  conn_records "$1" | jq -se --argjson uid "$uid" --arg curl "$curl_path" --arg py "$py_path" \
    "map(select(.event == \"close\")) | last | $2" >/dev/null ||
    fail "$1: last conn record is not $2: $(conn_records "$1" | tail -1)"
}
hello="hello from tailbox"

# 1. process_name: curl is rejected (SOCKS5 reply 2, HTTP 403), python3 is not.
config name '{"rules": [{"process_name": ["curl"], "action": "reject"}]}'
start_relay name --threads 2 -c "$t/name.json"
out=$(via_curl socks5)
grep -q "(2)" <<<"$out" || fail "process_name curl via socks5: want reply 2, got: $out"
wait_conns name 1
last_conn name '.action == "reject" and .rule == 0 and .process.name == "curl" and .process.path == $curl
  and .process.user_id == $uid and (.process.pid | type) == "number" and .process.user != null'
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$RELAY_PORT" "http://127.0.0.1:$web/hello.txt")
[ "$code" = 403 ] || fail "process_name curl via http: want 403, got $code"
wait_conns name 2
last_conn name '.action == "reject" and .protocol == "http" and .process.name == "curl"'
out=$(via_python)
[ "$out" = "$hello" ] || fail "process_name: python3 was not let through: $out"
wait_conns name 3
last_conn name '.action == "route" and .rule == null and .process.path == $py and .error == null'

# 2. process_path_regex and process_path: python3 is rejected by its path, curl goes through.
config regex '{"rules": [{"process_path_regex": ["/python3[.0-9]*$"], "action": "reject"},
                         {"process_path": ["'"$curl_path"'"], "outbound": "direct"}]}'
start_relay regex --threads 2 -c "$t/regex.json"
out=$(via_python)
[ "$out" = "reply 2" ] || fail "process_path_regex: python3 not rejected: $out"
out=$(via_curl socks5h)
[ "$out" = "$hello" ] || fail "process_path_regex: curl did not go through: $out"
wait_conns regex 2
last_conn regex '.action == "route" and .rule == 1 and .process.name == "curl"'
conn_records regex | jq -se 'map(select(.event == "close")) | first | .rule == 0 and .action == "reject"' >/dev/null ||
  fail "process_path_regex record: $(conn_records regex | head -1)"

# UDP ASSOCIATE: the datagrams carry the process of the association's TCP connection.
cat >"$t/udp.py" <<'PY'
import socket, struct, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c.sendall(b"\x05\x01\x00")
assert c.recv(2) == b"\x05\x00"
c.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
r = c.recv(10)
assert r[1] == 0, r
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(float(sys.argv[3]))
dst = socket.inet_aton("127.0.0.1") + struct.pack(">H", int(sys.argv[2]))
u.sendto(b"\x00\x00\x00\x01" + dst + b"ping", ("127.0.0.1", struct.unpack(">H", r[8:10])[0]))
try:
    print(u.recv(100)[10:].decode())
except socket.timeout:
    print("no answer")
PY
python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(100)
    s.sendto(d, a)' >"$t/uecho.port" &
track_pid $!
wait_for 10 grep -q '[0-9]' "$t/uecho.port"
config udp '{"rules": [{"process_path_regex": ["/python3[.0-9]*$"], "network": "udp", "action": "reject"}]}'
start_relay udp --threads 1 -c "$t/udp.json"
out=$(python3 "$t/udp.py" "$RELAY_PORT" "$(cat "$t/uecho.port")" 1)
[ "$out" = "no answer" ] || fail "UDP from python3 not rejected: $out"
wait_conns udp 1
last_conn udp '.protocol == "socks5-udp" and .action == "reject" and .rule == 0 and .process.path == $py'
start_relay udp2 --threads 1 -c "$t/name.json"  # process_name curl: python3's datagrams pass
out=$(python3 "$t/udp.py" "$RELAY_PORT" "$(cat "$t/uecho.port")" 5)
[ "$out" = "ping" ] || fail "UDP from python3 through a curl rule: $out"
wait_conns udp2 1
last_conn udp2 '.protocol == "socks5-udp" and .action == "route" and .process.path == $py'

# sb-route decide --find-process decides the same for a python3 socket held open to the web server,
# with and without the destination the socket is connected to.
sb=$(tool sb-route)
mkfifo "$t/hold.in"
python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
sys.stdin.read()' "$web" <"$t/hold.in" >"$t/hold.out" &
track_pid $!
exec 8>"$t/hold.in"
wait_for 10 grep -q '[0-9]' "$t/hold.out"
held=$(cat "$t/hold.out")
for dst in "127.0.0.1:$web" "127.0.0.1:9"; do
  d=$(jq -nc --arg s "127.0.0.1:$held" --arg d "$dst" '{inbound: "mixed-in", source: $s, destination: $d}' |
    "$sb" decide -c "$t/regex.json" --find-process) || fail "sb-route decide --find-process failed"
  jq -e '.action == "reject" and .matched_rule == 0 and .matched_items[0].process_path_regex != null' <<<"$d" >/dev/null ||
    fail "sb-route decide --find-process (destination $dst): $d"
done
exec 8>&-

# 3. No process rule, no find_process: no lookup. find_process alone: the record names the process.
config none '{"rules": []}'
start_relay none --threads 1 -c "$t/none.json"
[ "$(via_curl socks5)" = "$hello" ] || fail "no process rule: curl failed"
wait_conns none 1
last_conn none '.process == null'
config find '{"find_process": true}'
start_relay find --threads 1 -c "$t/find.json"
[ "$(via_curl http)" = "$hello" ] || fail "find_process: curl failed"
wait_conns find 1
last_conn find '.action == "route" and .process.name == "curl" and .process.user_id == $uid'

# 4. user and user_id: curl as nobody (65534) is rejected, by name for one host, by id otherwise.
[ "$uid" = 0 ] || skip "the user and user_id part runs a client as another user (needs root; the rest passed)"
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
config user '{"rules": [{"user": ["nobody"], "domain": ["by-name.test"], "action": "reject"},
                        {"user_id": [65534], "action": "reject"}]}'
start_relay user --threads 2 -c "$t/user.json"
out=$("${nobody[@]}" curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$RELAY_PORT" http://by-name.test/ 2>&1 || true)
grep -q "(2)" <<<"$out" || fail "user nobody: want reply 2, got: $out"
wait_conns user 1
last_conn user '.rule == 0 and .action == "reject" and .process.user == "nobody" and .process.user_id == 65534'
out=$(via_curl socks5 "${nobody[@]}")
grep -q "(2)" <<<"$out" || fail "user_id 65534: want reply 2, got: $out"
wait_conns user 2
last_conn user '.rule == 1 and .action == "reject" and .process.name == "curl" and .process.user_id == 65534'
[ "$(via_curl socks5)" = "$hello" ] || fail "user_id: root's curl was rejected"
wait_conns user 3
last_conn user '.action == "route" and .process.user_id == 0 and .process.user == "root"'
echo ok
