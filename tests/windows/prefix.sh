#!/usr/bin/env bash
# prefix.sh setup|cleanup: the wine prefix the windows tests share in one ctest run (a ctest
# fixture). setup makes a fresh prefix in a temp dir, starts its one wineserver (persistent) and
# writes its path to $TB_WINE_PREFIX_FILE; cleanup stops that wineserver and removes the prefix.
# Headless: no display, no stdin, wine's own debug output off; wineboot is bounded (it takes
# seconds here, up to a minute on a slow machine).
set -euo pipefail
command -v wine >/dev/null || { echo "SKIP: wine is not installed (scripts/install-deps.sh installs it)"; exit 77; }
: "${TB_WINE_PREFIX_FILE:?set by ctest (tests/windows/CMakeLists.txt)}"
unset DISPLAY WAYLAND_DISPLAY
export WINEDEBUG=-all

remove() {
  [ -s "$TB_WINE_PREFIX_FILE" ] || return 0
  local prefix
  prefix=$(cat "$TB_WINE_PREFIX_FILE")
  WINEPREFIX=$prefix timeout 20 wineserver -k </dev/null >/dev/null 2>&1 || true
  case $prefix in "${TMPDIR:-/tmp}"/tb-wine.*) rm -rf "$prefix" ;; esac
  rm -f "$TB_WINE_PREFIX_FILE"
}

case ${1:-} in
  setup)
    remove
    prefix=$(mktemp -d "${TMPDIR:-/tmp}/tb-wine.XXXXXX")
    if ! WINEPREFIX=$prefix timeout 150 wineboot -i </dev/null >"$prefix.log" 2>&1; then
      cat "$prefix.log" >&2
      rm -rf "$prefix" "$prefix.log"
      echo "FAIL: wineboot -i did not make a wine prefix within 150 s" >&2
      exit 1
    fi
    rm -f "$prefix.log"
    # One wineserver for the whole run, until cleanup's -k. By default it exits 3 s after its last
    # client, and a wine command that connects as it goes fails with "wine client error:0: recvmsg:
    # Connection reset by peer" (windows/ts-status, three times on a loaded machine).
    WINEPREFIX=$prefix timeout 20 wineserver -k </dev/null >/dev/null 2>&1 || true
    if ! WINEPREFIX=$prefix wineserver -p </dev/null >/dev/null 2>&1; then
      rm -rf "$prefix"
      echo "FAIL: wineserver -p did not start for the prefix" >&2
      exit 1
    fi
    echo "$prefix" >"$TB_WINE_PREFIX_FILE"
    ;;
  cleanup) remove ;;
  *) echo "usage: $0 setup|cleanup" >&2; exit 2 ;;
esac
