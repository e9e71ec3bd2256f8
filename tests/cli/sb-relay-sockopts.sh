#!/usr/bin/env bash
# The socket options of an accepted client connection, read from sb-relay's own descriptor
# (pidfd_getfd): TCP_NODELAY on, and keep-alive as the inbound's keys say (default: idle 300 s,
# interval 75 s, 9 probes; tcp_keep_alive / tcp_keep_alive_interval; disable_tcp_keep_alive: off).
# sb-relay sets them once on the listening socket and Linux copies them into every accepted one,
# so this checks what the connection really has, with one listening socket shared by the loops and
# with --reuseport (one per loop).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"

cat >"$t/c.json" <<'EOF'
{"inbounds": [
  {"type": "mixed", "tag": "def", "listen": "127.0.0.1", "listen_port": 0},
  {"type": "mixed", "tag": "tuned", "listen": "127.0.0.1", "listen_port": 0,
   "tcp_keep_alive": "42s", "tcp_keep_alive_interval": "7s"},
  {"type": "mixed", "tag": "off", "listen": "127.0.0.1", "listen_port": 0, "disable_tcp_keep_alive": true}],
 "outbounds": [{"type": "direct", "tag": "direct"}]}
EOF

# opts PID PORT: connect to 127.0.0.1:PORT, find sb-relay's socket for that connection and print
# "keepalive idle interval count nodelay" (or "skip: WHY").
opts() {
  python3 - "$1" "$2" <<'PY'
import ctypes, os, socket, sys
pid, port = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"\x05\x01\x00")  # a SOCKS5 greeting: the relay has accepted it once it answers
if c.recv(2) != b"\x05\x00":
    sys.exit("no SOCKS5 answer")
me = c.getsockname()
pidfd = os.pidfd_open(pid)
for name in os.listdir("/proc/%d/fd" % pid):
    fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
    if fd < 0:
        err = ctypes.get_errno()
        if err in (1, 38):  # EPERM (no ptrace access), ENOSYS
            print("skip: pidfd_getfd: " + os.strerror(err)); sys.exit(0)
        continue
    try:
        s = socket.socket(fileno=fd)
    except OSError:
        os.close(fd); continue
    try:
        if s.type != socket.SOCK_STREAM or s.getpeername() != me:
            continue
        g = lambda lvl, opt: s.getsockopt(lvl, opt)
        print(g(socket.SOL_SOCKET, socket.SO_KEEPALIVE), g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
              g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
              1 if g(socket.IPPROTO_TCP, socket.TCP_NODELAY) else 0)
        sys.exit(0)
    except OSError:
        continue
    finally:
        s.close()
sys.exit("no socket of sb-relay is connected to " + repr(me))
PY
}

# check PID PORT PATTERN WHAT: the options of a new connection to PORT match the glob PATTERN.
check() {
  local got
  got=$(opts "$1" "$2") || fail "$4: $got"
  case $got in skip:*) skip "${got#skip: } (needs ptrace access to sb-relay, e.g. root)" ;; esac
  # shellcheck disable=SC2053  # PATTERN is a glob on purpose
  [[ $got == $3 ]] || fail "$4: the accepted connection has keepalive/idle/interval/count/nodelay '$got', want '$3'"
}

for mode in "" --reuseport; do
  start_relay "r${mode}" --threads 2 $mode --events none -c "$t/c.json"
  ports=($(jq -r '.inbounds[].port' <(grep '"type":"listening"' "$RELAY_OUT" | head -1)))
  [ "${#ports[@]}" = 3 ] || fail "not three inbounds: $(cat "$RELAY_OUT")"
  # Twice each, so that with two loops both are likely to have accepted one.
  for i in 1 2; do
    check "$RELAY_PID" "${ports[0]}" "1 300 75 9 1" "default inbound${mode:+ ($mode)}"
    check "$RELAY_PID" "${ports[1]}" "1 42 7 9 1" "tcp_keep_alive 42s, interval 7s${mode:+ ($mode)}"
    # With keep-alive off, idle, interval and count are the kernel's defaults: only check it is off.
    check "$RELAY_PID" "${ports[2]}" "0 * 1" "disable_tcp_keep_alive${mode:+ ($mode)}"
  done
  kill "$RELAY_PID"
  wait "$RELAY_PID" 2>/dev/null || true
done
echo "ok: TCP_NODELAY and keep-alive as each inbound says, in both accept modes"
