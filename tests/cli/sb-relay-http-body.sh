#!/usr/bin/env bash
# sb-relay's HTTP forward proxy carries bodies with their own framing. Requests: Content-Length and
# chunked (curl -T - sends chunked), trailers included, on a kept-alive client connection; a
# malformed chunked body is answered 400 and never passes the end of the body upstream.
# Responses: Content-Length and chunked bodies end where their framing says, even when the origin
# keeps its connection open (as this one does), and 100 Continue is passed on before the answer.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"

# An origin that decodes the body itself (chunked or Content-Length) and answers with its length
# and sha256, keeping the connection alive; it logs every request line it sees.
cat >"$t/origin.py" <<'PY'
import hashlib, socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(16)
print("port", srv.getsockname()[1], flush=True)
log = open(sys.argv[1], "a")
def serve(c):
    f = c.makefile("rb")
    while True:
        line = f.readline()
        if not line: return
        log.write(line.decode().strip() + "\n"); log.flush()
        hdrs = {}
        while True:
            h = f.readline()
            if h in (b"\r\n", b"\n", b""): break
            k, v = h.decode().split(":", 1); hdrs[k.strip().lower()] = v.strip()
        body = b""
        if hdrs.get("expect", "").lower() == "100-continue":
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in hdrs.get("transfer-encoding", ""):
            while True:
                size = int(f.readline().split(b";")[0], 16)
                if size == 0:
                    while f.readline() not in (b"\r\n", b"\n", b""): pass
                    break
                body += f.read(size); f.readline()
        elif "content-length" in hdrs:
            body = f.read(int(hdrs["content-length"]))
        out = ("%d %s\n" % (len(body), hashlib.sha256(body).hexdigest())).encode()
        if b"chunked-reply" in line:
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      b"".join(b"%x\r\n%s\r\n" % (len(out[i:i+7]), out[i:i+7]) for i in range(0, len(out), 7)) +
                      b"0\r\n\r\n")
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 -u "$t/origin.py" "$t/origin.log" >"$t/origin.out" 2>&1 &
track_pid $!
wait_for 10 grep -q '^port ' "$t/origin.out"
op=$(awk '/^port /{print $2}' "$t/origin.out")
start_relay r --events all -c "$TB_FIXTURES/relay/direct.json"
p=$RELAY_PORT

head -c 300000 /dev/urandom >"$t/body"
want="300000 $(sha256sum "$t/body" | cut -d' ' -f1)"
# Chunked (curl -T - streams stdin as chunks), then Content-Length, on one kept-alive connection.
out=$(curl -sS --max-time 20 --proxy "http://127.0.0.1:$p" -T - "http://127.0.0.1:$op/chunked" <"$t/body" \
  --next --proxy "http://127.0.0.1:$p" --data-binary @"$t/body" "http://127.0.0.1:$op/length" 2>"$t/curl.err") ||
  fail "curl failed: $(cat "$t/curl.err")"
[ "$out" = "$want
$want" ] || fail "bodies did not arrive intact: $out (want $want twice)"
grep -q '^PUT /chunked HTTP/1.1$' "$t/origin.log" || fail "origin did not see the chunked PUT: $(cat "$t/origin.log")"
# A chunked answer, and Expect: 100-continue (the origin answers 100 first), on one connection.
out=$(curl -sS --max-time 20 --proxy "http://127.0.0.1:$p" --data-binary @"$t/body" "http://127.0.0.1:$op/chunked-reply" \
  --next --proxy "http://127.0.0.1:$p" -H 'Expect: 100-continue' --data-binary @"$t/body" "http://127.0.0.1:$op/continue" \
  2>"$t/curl2.err") || fail "curl (chunked reply, 100-continue) failed: $(cat "$t/curl2.err")"
[ "$out" = "$want
$want" ] || fail "chunked reply or 100-continue answer wrong: $out"

# By hand: a chunked body with an extension and a trailer, then a pipelined GET on the same
# connection; and a malformed chunk size → 400, nothing after it reaches the origin.
python3 - "$p" "$op" >"$t/raw.out" 2>&1 <<'PY' || fail "raw chunked exchange: $(cat "$t/raw.out")"
import socket, sys
p, op = int(sys.argv[1]), sys.argv[2]
def exchange(data, want):
    s = socket.create_connection(("127.0.0.1", p), timeout=10)
    s.sendall(data); got = b""
    while got.count(b"HTTP/1.1 ") < want or not got.endswith(b"\n"):
        b = s.recv(65536)
        if not b: break
        got += b
    s.close(); return got.decode(errors="replace")
req = ("POST http://127.0.0.1:%s/trailer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
       "GET http://127.0.0.1:%s/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") % (op, op)
got = exchange(req.encode(), 2)
assert "11 b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" in got, got  # sha256("hello world")
assert got.count("HTTP/1.1 200") == 2, got
bad = ("POST http://127.0.0.1:%s/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "zz\r\nGET /smuggled HTTP/1.1\r\n\r\n") % op
got = exchange(bad.encode(), 1)
assert got.startswith("HTTP/1.1 400"), got
assert "bad chunked request body" in got, got
print("ok")
PY
grep -q '^GET /after HTTP/1.1$' "$t/origin.log" || fail "the request pipelined after a chunked body was lost: $(cat "$t/origin.log")"
! grep -q smuggled "$t/origin.log" || fail "bytes after a malformed chunked body reached the origin"
wait_for 10 count_conns r 4
conn_records r | jq -se 'map(select(.error != null and (.error | test("bad chunked")))) | length == 1' >/dev/null ||
  fail "no conn record for the malformed body: $(conn_records r)"
# Response heads are counted in bytes_down (as request heads are in bytes_up): the first connection
# received two 72-byte bodies, each after an "HTTP/1.1 200 OK" status line at least.
conn_records r | jq -se 'map(select(.event == "close" and .id == 1))[0].bytes_down >= 2 * (72 + 17)' >/dev/null ||
  fail "response heads are not counted: $(conn_records r | jq -c 'select(.event == "close" and .id == 1)')"
# curl's uploads ask Expect: 100-continue; answered at once, they never wait out curl's 1 s delay.
conn_records r | jq -se 'map(select(.event == "close" and .id <= 2 and .duration_ms >= 900)) | length == 0' >/dev/null ||
  fail "an upload waited for 100 Continue: $(conn_records r | jq -c 'select(.event == "close") | [.id, .duration_ms]')"
echo ok
