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
#   wait_exit PID CODE SECS [WHAT [ERRFILE]]
#                               PID (a child of this shell) exits within SECS with status CODE, else
#                               fail naming WHAT (default "process PID") and, if given, ERRFILE's text
#   stream_open NAME CMD...     run CMD (stdin passed on) with stdout into a FIFO, read line by line
#                               below; stderr in $t/NAME.err (STREAM_ERR), the lines read so far in
#                               $t/NAME.out (STREAM_OUT); sets STREAM_PID STREAM_FD. One stream at a time.
#   stream_line [SECONDS [WHY]] the next complete line into $LINE within SECONDS (default 5), or fail
#                               (with WHY, if given, and the last lines)
#   stream_until JQ [SECONDS [WHY]]
#                               lines until one satisfies the jq filter, each within SECONDS ($LINE)
#   stream_exit CODE            read the rest (bounded) and check the stream's exit status
#   stream_stop                 stop the stream's command (a pipeline's stages too), close its FIFO
#   stop_pids PID...            stop each PID and its children (bounded)
#   watch_open MASK             stream_open of a watch-ipn-bus request (curl) to the fake
#   tailnet_config TAG PORT TIMEOUT
#                               print the smallest config with the tailscale endpoint: a mixed inbound
#                               TAG on 127.0.0.1:PORT; the tailnet to ts-ep, the rest to a direct
#                               outbound with connect_timeout TIMEOUT
#   proxy_session NAME SCRIPT ARGS...
#                               SCRIPT (scripts/tailbox-proxy or a copy) with --bin and a socket where
#                               no daemon is, as a session leader SID, TMPDIR=$t/tmp; stdout in
#                               $t/NAME.out (OUT), stderr in $t/NAME.err (ERR). Skips without setsid.
#   session_left                what of SID's session is still running (zombies are not)
#   session_finish CODE SECS    the proxy exits CODE within SECS; then nothing of its session is left
#                               and its run directory in $t/tmp is gone

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

# Stops each PID and its children first (a shell running a pipeline would leave its stages to
# init), bounded: SIGTERM, 5 s, then SIGKILL. Not in the exit trap: with it there, windows/ts-status
# once lost its wineserver under make asan (a tracked wine process may parent wine's own processes,
# which the concurrent windows test still uses).
stop_pids() {
  local pid all=()
  for pid in "$@"; do
    # shellcheck disable=SC2207
    all+=($(pgrep -P "$pid" 2>/dev/null || true) "$pid")
  done
  for pid in "${all[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${all[@]}"; do
    timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
}

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
# refused_at_start CONFIG MESSAGE: what sing-box resolves only at start. sb-route check warns with
# MESSAGE ("path: text") and exits 0, as sing-box check accepts it; sb-route plan and decide refuse
# it at load, exit 78 with the same MESSAGE.
refused_at_start() {
  local sb rc cmd e=$t/at-start.err
  sb=$(tool sb-route)
  rc=0; "$sb" check -c "$1" 2>"$e" || rc=$?
  [ "$rc" -eq 0 ] || fail "$1: check exit $rc, want 0 (sing-box check accepts it): $(cat "$e")"
  grep -qF -- "sb-route: warning: $2 (sing-box check accepts this; sing-box, sb-route plan/decide/explain and sb-relay refuse it at start)" \
    "$e" || fail "$1: no start warning '$2': $(cat "$e")"
  ! grep -q '^sb-route: error: ' "$e" || fail "$1: check reports an error: $(cat "$e")"
  for cmd in plan decide; do
    rc=0; "$sb" "$cmd" -c "$1" </dev/null >/dev/null 2>"$e" || rc=$?
    [ "$rc" -eq 78 ] || fail "$1: $cmd exit $rc, want 78: $(cat "$e")"
    grep -qF -- "sb-route: error: $2" "$e" || fail "$1: $cmd error lacks '$2': $(cat "$e")"
  done
}

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
  kill -TERM "$FAKE_PID" 2>/dev/null || true
  wait_exit "$FAKE_PID" 0 10 "fake_tailscaled after SIGTERM"
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

wait_exit() {
  local pid=$1 want=$2 secs=$3 what=${4:-process $1} err=${5:-} rc=0
  timeout "$secs" tail --pid="$pid" -f /dev/null ||
    fail "$what still running after ${secs}s${err:+: $(cat "$err" 2>/dev/null)}"
  wait "$pid" 2>/dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "$what: exit $rc, expected $want${err:+: $(cat "$err" 2>/dev/null)}"
}

stream_open() {
  local name=$1
  shift
  mkfifo "$t/$name.fifo"
  "$@" <&0 >"$t/$name.fifo" 2>"$t/$name.err" &  # explicit stdin: a background job would get /dev/null
  STREAM_PID=$!
  STREAM_ERR=$t/$name.err
  STREAM_OUT=$t/$name.out
  : >"$STREAM_OUT"
  track_pid "$STREAM_PID"
  exec {STREAM_FD}<"$t/$name.fifo"
}

stream_line() {
  LINE=""
  IFS= read -r -t "${1:-5}" -u "$STREAM_FD" LINE ||
    fail "${2:-no complete line within ${1:-5} s} (got: ${LINE:0:200}; last lines: $(tail -n 3 "$STREAM_OUT" | cut -c1-200);" \
      "stderr: $(tail -n 3 "$STREAM_ERR" 2>/dev/null))"
  printf '%s\n' "$LINE" >>"$STREAM_OUT"
}

stream_until() {
  local filter=$1 secs=${2:-5} _
  for _ in $(seq 1 100); do
    stream_line "$secs" "${3:-no line matching $filter within $secs s}"
    if printf '%s\n' "$LINE" | jq -e "$filter" >/dev/null 2>&1; then return 0; fi
  done
  fail "no line matched $filter: $(cat "$STREAM_OUT")"
}

# Stops the stream's command (and a pipeline's stages) and closes its FIFO.
stream_stop() {
  stop_pids "$STREAM_PID"
  exec {STREAM_FD}<&-
}

stream_exit() {
  timeout 20 cat <&"$STREAM_FD" >>"$STREAM_OUT" || fail "the stream did not end within 20 s"
  wait_exit "$STREAM_PID" "$1" 10 "the streaming command" "$STREAM_ERR"
}

watch_open() {
  stream_open "watch$_tb_fake_n.$RANDOM" \
    curl -sS -N --unix-socket "$FAKE_SOCK" "http://local-tailscaled.sock/localapi/v0/watch-ipn-bus?mask=$1" </dev/null
}

tailnet_config() {
  cat <<JSON
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
  "inbounds": [{"type": "mixed", "tag": "$1", "listen": "127.0.0.1", "listen_port": $2}],
  "outbounds": [{"type": "direct", "tag": "direct", "connect_timeout": "$3"}],
  "route": {"rules": [{"rule_set": "tailscale", "outbound": "ts-ep"}], "final": "direct"}
}
JSON
}

proxy_session() {
  local name=$1 script=$2
  shift 2
  command -v setsid >/dev/null || skip "setsid missing"
  mkdir -p "$t/tmp"
  OUT=$t/$name.out ERR=$t/$name.err
  TMPDIR=$t/tmp setsid bash "$script" --bin "$TB_BIN" --socket "$t/no.sock" "$@" >"$OUT" 2>"$ERR" </dev/null &
  SID=$!
  track_pid "$SID"
  [ "$(ps -o sid= -p "$SID" | tr -d ' ')" = "$SID" ] || fail "setsid forked: cannot follow the session"
}
# A stage that has exited but whose parent exited before reaping it is a zombie handed to init,
# which on some machines (a VM's own init) reaps late: it is not running, so it is not counted.
session_left() { pgrep -s "$SID" | xargs -r ps -o pid=,stat=,args= -p | awk '$2 !~ /^Z/' || true; }
session_finish() {
  wait_exit "$SID" "$1" "$2" tailbox-proxy "$ERR"
  [ -z "$(session_left)" ] || fail "left running after tailbox-proxy exited: $(session_left)"
  [ -z "$(ls -A "$t/tmp")" ] || fail "run directory left: $(ls -A "$t/tmp")"
}
