#!/usr/bin/env bash
# `make install` honours PREFIX and DESTDIR: binaries, scripts, man pages, completions, systemd
# units and the cron example land under DESTDIR/PREFIX, the units and the cron job name PREFIX/bin
# (and pass systemd-analyze verify), and the installed tools run.
. "$(dirname "$0")/lib.sh"
build=$(cd "$TB_BIN/.." && pwd)
[ -f "$build/cmake_install.cmake" ] || skip "no install script in $build"
DESTDIR=$t/root cmake --install "$build" --prefix /opt/tb >"$t/log" 2>&1 || fail "install failed: $(tail -3 "$t/log")"
for tool in ts-status ts-auth sb-route sb-relay; do
  [ -x "$TB_BIN/$tool/$tool" ] || continue
  [ -x "$t/root/opt/tb/bin/$tool" ] || fail "$tool not installed"
  [ -f "$t/root/opt/tb/share/man/man1/$tool.1" ] || fail "$tool.1 not installed"
  "$t/root/opt/tb/bin/$tool" --version | contains "$tool" || fail "installed $tool does not run"
done
[ -f "$t/root/opt/tb/share/man/man7/tailbox.7" ] || fail "tailbox.7 not installed"
[ ! -e "$t/root/opt/tb/bin/fake_tailscaled" ] || fail "the test daemon was installed"
# Nothing outside DESTDIR.
[ -z "$(grep -v "$t/root" "$t/log" | grep 'Installing:')" ] || fail "installed outside DESTDIR"
p=$t/root/opt/tb
if command -v man >/dev/null; then
  grep -q 'ts-status - ' <<<"$(MANWIDTH=80 man -l "$t/root/opt/tb/share/man/man1/ts-status.1" 2>&1)" || fail "ts-status.1 does not render"
  grep -Eq 'tailbox-healthcheck +- ' <<<"$(MANWIDTH=80 man -l "$p/share/man/man1/tailbox-healthcheck.1" 2>&1)" ||
    fail "tailbox-healthcheck.1 does not render"
fi
for f in bin/tailbox-proxy bin/tailbox-healthcheck; do
  [ -x "$p/$f" ] || fail "$f not installed"
done
for f in share/man/man1/tailbox-healthcheck.1 share/man/man1/tailbox-proxy.1 share/doc/tailbox/README.md share/doc/tailbox/examples/tailbox-prometheus \
    lib/systemd/system/tailbox-proxy.service lib/systemd/system/tailbox-healthcheck.service \
    lib/systemd/system/tailbox-healthcheck.timer; do
  [ -f "$p/$f" ] || fail "$f not installed"
done
for tool in ts-status ts-auth sb-route sb-relay; do
  [ -f "$p/share/bash-completion/completions/$tool" ] || fail "bash completion for $tool not installed"
  [ -f "$p/share/zsh/vendor-completions/_$tool" ] || fail "zsh completion for $tool not installed"
done
# The units and the cron job run the prefix's binaries.
grep -qx 'ExecStart=/opt/tb/bin/tailbox-proxy --bin /opt/tb/bin --events none $TAILBOX_PROXY_ARGS' "$p/lib/systemd/system/tailbox-proxy.service" ||
  fail "tailbox-proxy.service: $(grep ExecStart "$p/lib/systemd/system/tailbox-proxy.service")"
grep -q '^ExecStart=/opt/tb/bin/tailbox-healthcheck ' "$p/lib/systemd/system/tailbox-healthcheck.service" ||
  fail "tailbox-healthcheck.service does not run /opt/tb/bin/tailbox-healthcheck"
grep -q ' prometheus  */opt/tb/bin/ts-status --format prometheus' "$p/share/doc/tailbox/examples/tailbox-prometheus" ||
  fail "the cron example does not run /opt/tb/bin/ts-status"
! grep -rq /usr/bin/t "$p/lib/systemd/system" || fail "a unit still names /usr/bin"
# The installed healthcheck finds the ts-status next to it.
rc=0; "$p/bin/tailbox-healthcheck" --no-syslog --socket "$t/no.sock" >"$t/hc.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q '^TAILSCALE CRITICAL - cannot connect' "$t/hc.out" ||
  fail "installed tailbox-healthcheck: exit $rc, $(cat "$t/hc.out")"
# systemd-analyze verify in the root: the units where systemd looks (/etc/systemd/system), the
# host's units (sysinit.target, …) beside them; ExecStart's /opt/tb/bin resolves in the root.
if command -v systemd-analyze >/dev/null && [ -d /lib/systemd/system ]; then
  mkdir -p "$t/root/lib/systemd" "$t/root/etc/systemd/system"
  cp -a /lib/systemd/system "$t/root/lib/systemd/"
  cp "$p"/lib/systemd/system/tailbox-* "$t/root/etc/systemd/system/"
  (cd "$t/root/etc/systemd/system" && systemd-analyze verify --man=no --root="$t/root" tailbox-*) >"$t/verify" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$t/verify")"
  [ ! -s "$t/verify" ] || fail "systemd-analyze verify warns: $(cat "$t/verify")"
else
  echo "note: systemd-analyze not installed, units not verified"
fi
echo ok
