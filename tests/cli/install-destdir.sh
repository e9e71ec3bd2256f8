#!/usr/bin/env bash
# `make install` honours PREFIX and DESTDIR: binaries and man pages land under DESTDIR/PREFIX,
# and the installed tools run.
. "$(dirname "$0")/lib.sh"
build=$(cd "$TB_BIN/.." && pwd)
[ -f "$build/cmake_install.cmake" ] || skip "no install script in $build"
DESTDIR=$t/root cmake --install "$build" --prefix /opt/tb >"$t/log" 2>&1 || fail "install failed: $(tail -3 "$t/log")"
for tool in ts-status ts-auth sb-route sb-relay; do
  [ -x "$TB_BIN/$tool/$tool" ] || continue
  [ -x "$t/root/opt/tb/bin/$tool" ] || fail "$tool not installed"
  [ -f "$t/root/opt/tb/share/man/man1/$tool.1" ] || fail "$tool.1 not installed"
  "$t/root/opt/tb/bin/$tool" --version | grep -q "$tool" || fail "installed $tool does not run"
done
[ -f "$t/root/opt/tb/share/man/man7/tailbox.7" ] || fail "tailbox.7 not installed"
[ ! -e "$t/root/opt/tb/bin/fake_tailscaled" ] || fail "the test daemon was installed"
# Nothing outside DESTDIR.
[ -z "$(grep -v "$t/root" "$t/log" | grep 'Installing:')" ] || fail "installed outside DESTDIR"
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$t/root/opt/tb/share/man/man1/ts-status.1" 2>&1 | grep -q 'ts-status - ' || fail "ts-status.1 does not render"
fi
echo ok
