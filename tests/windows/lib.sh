# shellcheck shell=bash disable=SC2154  # $t comes from tests/cli/lib.sh
# Sourced by tests/windows/*.sh: tests/cli/lib.sh's helpers (fail, skip, $t, start_fake, …) plus
# wine. The programs are build-win's (make windows); the wine prefix is the one windows/prefix-setup
# made for this ctest run. Exit 77 (skipped) says why when either is missing.
#
#   win_tool PATH               build-win's PATH (cmd/ts-status/ts-status.exe); skips if not built
#   winpath PATH                a Unix path as Windows programs see it (Z:\…)
#   wine_run EXE ARGS...        EXE under wine, stdin from /dev/null
#   start_pipe_server ARGS...   pipe_server.exe with ARGS in the background, once its pipe exists;
#                               its request log in $PIPE_LOG, its pid in $PIPE_PID
#   stop_pipe_server            stops it (bounded)

# shellcheck source=../cli/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

command -v wine >/dev/null || skip "wine is not installed (scripts/install-deps.sh installs it)"
[ -s "${TB_WINE_PREFIX_FILE:-}" ] || skip "no wine prefix: run through ctest, whose windows/prefix-setup makes it"
WINEPREFIX=$(cat "$TB_WINE_PREFIX_FILE")
export WINEPREFIX WINEDEBUG=-all
unset DISPLAY WAYLAND_DISPLAY
TB_WIN=${TB_WIN:-$TB_SRC/build-win}
_tb_pipe_n=0

win_tool() {
  [ -f "$TB_WIN/$1" ] || skip "$TB_WIN/$1 is not built (make windows)"
  echo "$TB_WIN/$1"
}

winpath() { local p=$1; printf 'Z:%s' "${p//\//\\}"; }

wine_run() { wine "$@" </dev/null; }

start_pipe_server() {
  _tb_pipe_n=$((_tb_pipe_n + 1))
  local ready=$t/pipe$_tb_pipe_n.ready
  local exe
  exe=$(win_tool tests/windows/pipe_server.exe)
  PIPE_LOG=$t/pipe$_tb_pipe_n.log
  wine "$exe" --ready "$(winpath "$ready")" --log "$(winpath "$PIPE_LOG")" "$@" \
    </dev/null 2>"$t/pipe$_tb_pipe_n.err" &
  PIPE_PID=$!
  track_pid "$PIPE_PID"
  wait_for 30 test -s "$ready"
}

stop_pipe_server() {
  kill "$PIPE_PID" 2>/dev/null || true
  wait "$PIPE_PID" 2>/dev/null || true
}
