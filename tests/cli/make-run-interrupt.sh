#!/usr/bin/env bash
# `make run` stopped with Ctrl-C, as at a terminal: make runs under a pseudo-terminal (python's pty),
# the proxy comes up (its terminal hint "Press Ctrl-C to stop." on the pty), and ^C typed on the
# pty stops it. make ends without a "make: ***" line (no "Error 130", no "Interrupt"), and the
# proxy's "stopping" line shows that the signal reached it. The recipe alone runs (make -o build:
# the build tree is the suite's); the config listens on a free port, not 1080.
. "$(dirname "$0")/lib.sh"
build=$(cd "$TB_BIN/.." && pwd)
command -v make >/dev/null || skip "make missing"
command -v python3 >/dev/null || skip "python3 missing"
for tool in ts-status sb-route sb-relay; do tool "$tool" >/dev/null; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$t/config.json" <<JSON
{"inbounds": [{"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": $port}],
 "outbounds": [{"type": "direct", "tag": "direct"}], "route": {"final": "direct"}}
JSON
cat >"$t/ctrl_c.py" <<'PY'
import os, pty, select, sys, time
out = b""
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
def read_until(pred, secs):
    global out
    end = time.monotonic() + secs
    while time.monotonic() < end and not pred():
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return
            if not d:
                return
            out += d
read_until(lambda: b"Press Ctrl-C" in out, 30)
if b"Press Ctrl-C" not in out:
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit("make run: the proxy did not come up")
os.write(fd, b"\x03")
read_until(lambda: False, 15)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print(f"\nstatus {os.waitstatus_to_exitcode(status)}")
PY
# RUN_ARGS: the proxy's socket where no daemon is, so ts-status just retries.
timeout 60 python3 "$t/ctrl_c.py" make -C "$TB_SRC" --no-print-directory -o build run BUILD="$build" \
  RUN_ARGS="-c $t/config.json --socket $t/no-daemon.sock" >"$t/out" 2>&1 || fail "make run under a pty: $(cat "$t/out")"
grep -q 'tailbox-proxy: stopping' "$t/out" || fail "the proxy did not see Ctrl-C: $(cat "$t/out")"
! grep -q 'make: \*\*\*' "$t/out" || fail "make reported the interrupt: $(grep 'make: \*\*\*' "$t/out")"
# make itself ends as a program killed by SIGINT does (-2), or 0: never with an error status.
status=$(sed -n 's/^status //p' "$t/out" | tr -d '\r')
[ "$status" = -2 ] || [ "$status" = 0 ] || fail "make run ended with status $status: $(cat "$t/out")"
echo "ok: make run ended with status $status after Ctrl-C, no make: *** line"
