#!/usr/bin/env bash
# The relay's byte pump (libcommon/net/pump.cpp) through a SOCKS5 CONNECT, against servers that
# make each of its paths run:
#   - half-close: the client sends, shuts down its write side and then reads; the server answers
#     only after EOF, so the FIN must reach it while the other direction stays open (copy mode with
#     10 bytes, splice mode with 1 MiB);
#   - both ways at once: 16 MiB each way, written and read concurrently (both directions in bulk,
#     each waiting for the other side to take its bytes); byte-exact, and counted in the record;
#   - a slow reader: the server sends 16 MiB and closes while the client reads slowly at first, so
#     the relay has to hold what the client cannot take and wait until it can;
#   - a reset: the server resets; the client sees a reset, not a clean end;
#   - the idle timeout (--idle-timeout 1): a silent connection is closed with "idle timeout"; one
#     with a byte every 0.3 s outlives three timeouts.
# Each case names its own failure; every wait is a socket time-out of at most 20 s.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/relay-lib.sh"
start_relay r --threads 2 --events close --idle-timeout 1 -c "$TB_FIXTURES/relay/direct.json"

cat >"$t/pump.py" <<'PY'
import hashlib, os, socket, struct, sys, threading, time
relay_port = int(sys.argv[1])
T = 20  # every socket wait is bounded by this

def fail(msg):
    print("FAIL: " + msg, flush=True)
    os._exit(1)

def server(handler):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    def loop():
        while True:
            c, _ = s.accept()
            c.settimeout(T)
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]

def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            fail("connection ended after %d of %d bytes" % (len(b), n))
        b += d
    return b

def via_relay(port):
    c = socket.create_connection(("127.0.0.1", relay_port), timeout=T)
    c.sendall(b"\x05\x01\x00")
    if recv_exact(c, 2) != b"\x05\x00":
        fail("SOCKS5 greeting refused")
    c.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", port))
    r = recv_exact(c, 10)
    if r[1] != 0:
        fail("SOCKS5 CONNECT to %d answered %d" % (port, r[1]))
    return c

def read_all(c):
    b = bytearray()
    while (d := c.recv(1 << 16)):
        b += d
    return bytes(b)

# Half-close: the answer comes only after the server saw EOF.
def answer_after_eof(c):
    got = read_all(c)
    c.sendall(b"got %d %s" % (len(got), hashlib.sha256(got).hexdigest().encode()))
    c.close()
p = server(answer_after_eof)
for size in (10, 1 << 20):
    data = os.urandom(size)
    c = via_relay(p)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    try:
        ans = read_all(c)
    except socket.timeout:
        fail("half-close with %d bytes: no answer in %d s (the FIN did not reach the server?)" % (size, T))
    want = b"got %d %s" % (size, hashlib.sha256(data).hexdigest().encode())
    if ans != want:
        fail("half-close with %d bytes: answer %r, want %r" % (size, ans[:80], want))
    c.close()
print("ok: half-close, 10 bytes and 1 MiB: the server saw EOF and its answer came back", flush=True)

# Both ways at once: the server echoes as it reads.
def echo(c):
    while (d := c.recv(1 << 16)):
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
p = server(echo)
size = 16 << 20
data = os.urandom(size)
c = via_relay(p)
def writer():
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
w = threading.Thread(target=writer)
w.start()
try:
    back = read_all(c)
except socket.timeout:
    fail("both ways: stalled (no bytes in %d s)" % T)
w.join(T)
if back != data:
    fail("both ways: %d bytes came back, want %d, same bytes: %s" % (len(back), size, back == data[:len(back)]))
c.close()
print("ok: 16 MiB each way at once, byte-exact", flush=True)

# A slow reader: 16 MiB sent at once, read in small bites at first.
blob = os.urandom(16 << 20)
def flood(c):
    c.sendall(blob)
    c.close()
p = server(flood)
c = via_relay(p)
got = bytearray()
t0 = time.time()
while time.time() - t0 < 0.5:  # slower than the relay can send: its sends to us must wait
    d = c.recv(4096)
    if not d:
        break
    got += d
    time.sleep(0.002)
got += read_all(c)
if bytes(got) != blob:
    fail("slow reader: %d bytes, want %d, same prefix: %s" % (len(got), len(blob), bytes(got) == blob[:len(got)]))
c.close()
print("ok: 16 MiB to a slow reader, byte-exact and ended", flush=True)

# A reset is passed on as a reset.
def reset(c):
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
p = server(reset)
c = via_relay(p)
c.sendall(b"hello")
try:
    d = read_all(c)
    fail("reset: the client saw a clean end (%d bytes), not a reset" % len(d))
except ConnectionResetError:
    pass
c.close()
print("ok: an upstream reset reached the client as a reset", flush=True)

# The idle timeout (1 s): silent, closed; a byte every 0.3 s keeps it open.
def silent(c):
    read_all(c)
    c.close()
p = server(silent)
c = via_relay(p)
t0 = time.time()
try:
    d = read_all(c)
except socket.timeout:
    fail("idle: a silent connection was still open after %d s" % T)
took = time.time() - t0
if d or took < 0.9 or took > 5:
    fail("idle: closed after %.2f s with %d bytes, want ~1 s and none" % (took, len(d)))
c.close()
def echo_slow(c):
    while (d := c.recv(100)):
        c.sendall(d)
    c.close()
p = server(echo_slow)
c = via_relay(p)
for i in range(10):  # 3 s
    c.sendall(b"x")
    if recv_exact(c, 1) != b"x":
        fail("idle: wrong echo")
    time.sleep(0.3)
c.close()
print("ok: idle: a silent connection closed after %.1f s; a trickle outlived three time-outs" % took, flush=True)
PY
python3 "$t/pump.py" "$RELAY_PORT" >"$t/pump.out" 2>&1 || fail "$(cat "$t/pump.out")"
cat "$t/pump.out"

# 2 half-close + 1 both ways + slow + reset + 2 idle = 7 connections.
wait_conns r 7
recs=$(conn_records r | jq -sc 'sort_by(.id)')
jq -e '.[2] | .bytes_up == 16777216 and .bytes_down == 16777216 and .error == null' <<<"$recs" >/dev/null ||
  fail "both ways: the record should count 16 MiB each way, no error: $(jq -c '.[2]' <<<"$recs")"
jq -e '.[3] | .bytes_down == 16777216 and .error == null' <<<"$recs" >/dev/null ||
  fail "slow reader: the record should count 16 MiB down: $(jq -c '.[3]' <<<"$recs")"
jq -e '.[4].error == "reset by upstream"' <<<"$recs" >/dev/null || fail "reset: $(jq -c '.[4]' <<<"$recs")"
jq -e '.[5].error == "idle timeout" and .[6].error == null' <<<"$recs" >/dev/null ||
  fail "idle: the silent connection should end with 'idle timeout', the trickle with none: $(jq -c '.[5], .[6]' <<<"$recs")"
kill -0 "$RELAY_PID" || fail "sb-relay died"
echo "ok: the records count the bytes and name the reset and the idle timeout"
