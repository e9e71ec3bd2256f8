# Sourced by every tests/cli/*.sh. Strict mode, a per-test temp dir $t, and helpers to run the fake
# tailscaled (tests/fakes, documented in tests/fakes/README.md). Synchronise on events (the ready
# line, stream lines, /wait-watchers), never on sleeps. Exit 77 means "skipped" to ctest.
#
#   fail MSG...                 print "FAIL: MSG" on stderr, exit 1
#   skip MSG...                 print "SKIP: MSG", exit 77
#   expect_exit CODE CMD...     run CMD, fail unless it exits CODE (its output passes through)
#   wait_for SECONDS CMD...     run CMD every 50 ms until it succeeds, or fail after SECONDS (a
#                               deadline, not a count, so a slow CMD cannot stretch the wait)
#   track_pid PID               kill PID when the test ends
#   tool NAME                   path of a built tool ($TB_BIN/NAME/NAME); skips the test if absent
#   sanitized BIN               true when BIN is built with ASan or TSan (make asan/tsan): RSS and
#                               memory scans mean nothing there, and ASan handles SIGSEGV itself
#   start_fake [ARGS...]        start fake_tailscaled (socket, control socket and log in $t), wait for
#                               its ready line; exports FAKE_SOCK FAKE_CTL FAKE_PID FAKE_LOG
#                               (+ FAKE_TCP_PORT with --tcp-port)
#   stop_fake                   SIGTERM it, wait (bounded), fail unless it exited 0 and removed its socket
#   fake_ctl PATH [CURL ARGS]   POST to the control socket (add -X GET to read), prints the reply
#   lapi PATH [CURL ARGS]       curl the fake's Local API (Host: local-tailscaled.sock), prints the body
#   watch_open MASK             open a watch-ipn-bus stream with curl; lines are read with watch_line
#   watch_line [SECONDS]        read the next stream line into $WATCH_LINE within SECONDS (default 5) or fail
#   watch_until JQ [SECONDS]    read lines until one satisfies the jq filter (same deadline per line)
#   proc_open CMD...            run a streaming tool with stdout into a FIFO (PROC_PID; stderr in $t/proc.err)
#   proc_line [SECONDS]         read its next line into $PROC_LINE within SECONDS (default 5) or fail
#   proc_until JQ [SECONDS]     read its lines until one satisfies the jq filter
#   bg_run NAME CMD...          like proc_open, but stdin is passed on and lines read are kept in $BG_OUT
#   read_until JQ               bg_run's next lines (10 s each) until one satisfies JQ ($LINE)
#   bg_exit CODE                read the rest (bounded) and check bg_run's exit status

set -euo pipefail
export LC_ALL=C

TB_SRC=${TB_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TB_BIN=${TB_BIN:-$TB_SRC/build/cmd}
TB_FAKES=${TB_FAKES:-$TB_SRC/build/tests/fakes}
TB_FIXTURES=${TB_FIXTURES:-$TB_SRC/tests/fixtures}
export TB_SRC TB_BIN TB_FAKES TB_FIXTURES

t=$(mktemp -d "${TMPDIR:-/tmp}/tb-test.XXXXXX")
_tb_pids=()
_tb_fake_n=0

_tb_cleanup() {
  local rc=$?
  local pid
  for pid in "${_tb_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_tb_pids[@]}"; do
    timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$t"
  exit "$rc"
}
trap _tb_cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

skip() {
  echo "SKIP: $*"
  exit 77
}

track_pid() { _tb_pids+=("$1"); }

expect_exit() {
  local want=$1 rc=0
  shift
  "$@" || rc=$?
  [ "$rc" = "$want" ] || fail "expected exit $want, got $rc: $*"
}

wait_for() {
  local end=$((SECONDS + $1)) secs=$1
  shift
  while [ "$SECONDS" -lt "$end" ]; do
    if "$@" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  fail "timed out after ${secs}s waiting for: $*"
}

tool() {
  local p=$TB_BIN/$1/$1
  [ -x "$p" ] || skip "$1 not built ($p)"
  echo "$p"
}

sanitized() { ldd "$1" 2>/dev/null | contains -e libasan -e libtsan; }
# cmd | contains GREP-ARGS: grep -q on all of cmd's output. Under pipefail, `cmd | grep -q` fails (or,
# negated, passes) at random when grep exits at the first match and cmd dies of SIGPIPE.
contains() { local s; s=$(cat); grep -q "$@" <<<"$s"; }

start_fake() {
  local n=$_tb_fake_n
  _tb_fake_n=$((n + 1))
  [ -x "$TB_FAKES/fake_tailscaled" ] || skip "fake_tailscaled not built ($TB_FAKES)"
  FAKE_SOCK=$t/tailscaled$n.sock
  FAKE_CTL=$t/control$n.sock
  FAKE_LOG=$t/fake$n.log
  local fifo=$t/ready$n.fifo line=""
  mkfifo "$fifo"
  "$TB_FAKES/fake_tailscaled" --socket "$FAKE_SOCK" --control "$FAKE_CTL" --log "$FAKE_LOG" "$@" \
    >"$fifo" 2>"$t/fake$n.err" &
  FAKE_PID=$!
  track_pid "$FAKE_PID"
  if ! read -r -t 10 line <"$fifo"; then
    cat "$t/fake$n.err" >&2 || true
    fail "fake_tailscaled did not print its ready line within 10 s"
  fi
  case $line in
    '{"type":"ready"'*) ;;
    *) fail "unexpected first line from fake_tailscaled: $line" ;;
  esac
  FAKE_TCP_PORT=$(printf '%s\n' "$line" | sed -n 's/.*"tcp_port":\([0-9]*\).*/\1/p')
  export FAKE_SOCK FAKE_CTL FAKE_PID FAKE_LOG FAKE_TCP_PORT
}

stop_fake() {
  [ -n "${FAKE_PID:-}" ] || return 0
  local rc=0
  kill -TERM "$FAKE_PID" 2>/dev/null || true
  timeout 10 tail --pid="$FAKE_PID" -f /dev/null || fail "fake_tailscaled ignored SIGTERM for 10 s"
  wait "$FAKE_PID" 2>/dev/null || rc=$?
  [ "$rc" = 0 ] || fail "fake_tailscaled exited $rc on SIGTERM"
  [ ! -e "$FAKE_SOCK" ] || fail "fake_tailscaled left its socket behind"
  FAKE_PID=
}

fake_ctl() {
  local path=$1
  shift
  curl -sS --max-time 15 --unix-socket "$FAKE_CTL" -X POST "$@" "http://fake$path"
}

lapi() {
  local path=$1
  shift
  curl -sS --max-time 15 --unix-socket "$FAKE_SOCK" "$@" "http://local-tailscaled.sock$path"
}

watch_open() {
  local fifo=$t/watch$_tb_fake_n.$RANDOM.fifo
  mkfifo "$fifo"
  curl -sS -N --unix-socket "$FAKE_SOCK" "http://local-tailscaled.sock/localapi/v0/watch-ipn-bus?mask=$1" \
    >"$fifo" 2>"$fifo.err" &
  WATCH_PID=$!
  track_pid "$WATCH_PID"
  exec {WATCH_FD}<"$fifo"
}

watch_line() {
  WATCH_LINE=""
  read -r -t "${1:-5}" -u "$WATCH_FD" WATCH_LINE || fail "no complete watch-ipn-bus line within ${1:-5} s (got: ${WATCH_LINE:0:200})"
}

watch_until() {
  local filter=$1 secs=${2:-5} i
  for i in $(seq 1 50); do
    watch_line "$secs"
    if printf '%s\n' "$WATCH_LINE" | jq -e "$filter" >/dev/null 2>&1; then return 0; fi
  done
  fail "no watch-ipn-bus line matched $filter"
}

proc_open() {
  local fifo=$t/proc.$RANDOM.fifo
  mkfifo "$fifo"
  "$@" >"$fifo" 2>>"$t/proc.err" &
  PROC_PID=$!
  track_pid "$PROC_PID"
  exec {PROC_FD}<"$fifo"
}

proc_line() {
  PROC_LINE=""
  read -r -t "${1:-5}" -u "$PROC_FD" PROC_LINE ||
    fail "no complete line within ${1:-5} s (got: ${PROC_LINE:0:200}; stderr: $(tail -n 3 "$t/proc.err" 2>/dev/null))"
}

proc_until() {
  local filter=$1 secs=${2:-5} i
  for i in $(seq 1 100); do
    proc_line "$secs"
    if printf '%s\n' "$PROC_LINE" | jq -e "$filter" >/dev/null 2>&1; then return 0; fi
  done
  fail "no line matched $filter"
}

# bg_run NAME CMD...: CMD's stdout goes to a fifo read line by line with read_until; stderr to $t/NAME.err.
bg_run() {
  local name=$1
  shift
  mkfifo "$t/$name.fifo"
  "$@" <&0 >"$t/$name.fifo" 2>"$t/$name.err" &  # explicit stdin: a background job would get /dev/null
  BG_PID=$!
  BG_ERR=$t/$name.err
  track_pid "$BG_PID"
  exec {BG_FD}<"$t/$name.fifo"
  BG_OUT=$t/$name.out
  : >"$BG_OUT"
}
# read_until JQ: the tool's next lines (each within 10 s) until one satisfies JQ; it is left in $LINE.
read_until() {
  local i
  for i in $(seq 1 50); do
    IFS= read -r -t 10 -u "$BG_FD" LINE || fail "no line matching $1 within 10 s; got: $(cat "$BG_OUT") $(cat "$BG_ERR")"
    printf '%s\n' "$LINE" >>"$BG_OUT"
    if printf '%s\n' "$LINE" | jq -e "$1" >/dev/null 2>&1; then return 0; fi
  done
  fail "no line matching $1"
}
# bg_exit CODE: reads the rest of the output and checks the exit status (bounded).
bg_exit() {
  timeout 20 cat <&"$BG_FD" >>"$BG_OUT" || fail "the tool did not finish within 20 s"
  local rc=0
  wait "$BG_PID" || rc=$?
  [ "$rc" = "$1" ] || fail "exit $rc, expected $1: $(cat "$BG_ERR")"
}
