#!/usr/bin/env bash
# `make package`: CPack builds tailbox_<version>_<arch>.deb from the build tree (here into a temp
# dir, so a concurrent `make package` is not disturbed); its control fields and contents are right,
# and `dpkg -i` installs it cleanly, dependencies included, into a scratch root that holds a copy
# of this machine's dpkg database (the real system is never touched). The installed tools run.
. "$(dirname "$0")/lib.sh"
build=$(cd "$TB_BIN/.." && pwd)
[ -f "$build/CPackConfig.cmake" ] || skip "no CPackConfig.cmake in $build (reconfigure it)"
for c in cpack dpkg dpkg-deb dpkg-shlibdeps file; do
  command -v "$c" >/dev/null || skip "$c not installed (scripts/install-deps.sh installs dpkg-dev and file)"
done
for tool in ts-status ts-auth sb-route sb-relay; do tool "$tool" >/dev/null; done

(cd "$t" && timeout 300 cpack --config "$build/CPackConfig.cmake" -B "$t/out") >"$t/cpack.log" 2>&1 ||
  fail "cpack failed: $(tail -5 "$t/cpack.log")"
debs=("$t"/out/tailbox_*.deb)
[ "${#debs[@]}" = 1 ] && [ -f "${debs[0]}" ] || fail "expected one tailbox_*.deb, got: ${debs[*]}"
deb=${debs[0]}
version=$(sed -n 's/^project(tailbox VERSION \([0-9.]*\).*/\1/p' "$TB_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "tailbox_${version}_$arch.deb" ] || fail "package file name $(basename "$deb")"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = tailbox ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), project() says $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
depends=$(field Depends)
for lib in libc6 libstdc++6 libfmt libspdlog libyaml-cpp libqrencode; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
done
grep -q tailscale <<<"$(field Recommends) $(field Suggests)" || fail "tailscale is neither recommended nor suggested"
grep -q 'daemon-only' <<<"$(field Description)" || fail "Description: $(field Description)"

# Contents: everything under /usr, nothing from the tests.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$t/files"
for f in /usr/bin/ts-status /usr/bin/ts-auth /usr/bin/sb-route /usr/bin/sb-relay /usr/bin/tailbox-proxy \
    /usr/bin/tailbox-healthcheck /usr/share/man/man1/ts-status.1 /usr/share/man/man1/tailbox-healthcheck.1 \
    /usr/share/man/man1/tailbox-proxy.1 \
    /usr/share/man/man5/sb-route.json.5 /usr/share/man/man7/tailbox.7 \
    /usr/lib/systemd/system/tailbox-proxy.service /usr/lib/systemd/system/tailbox-healthcheck.service \
    /usr/lib/systemd/system/tailbox-healthcheck.timer /usr/share/doc/tailbox/examples/tailbox-prometheus \
    /usr/share/bash-completion/completions/ts-status /usr/share/zsh/vendor-completions/_sb-relay; do
  grep -qx "$f" "$t/files" || fail "$f is not in the package"
done
outside=$(grep -v '^/usr/' "$t/files" | grep -v '^/$' || true)
[ -z "$outside" ] || fail "files outside /usr: $outside"
! grep -q 'fake_tailscaled\|unit_' "$t/files" || fail "test programs in the package"
[ "$(dpkg-deb -c "$deb" | awk '$6=="./usr/bin/tailbox-healthcheck"{print $1}')" = -rwxr-xr-x ] ||
  fail "tailbox-healthcheck is not executable in the package"

# Install into a scratch root whose dpkg database is a copy of this machine's: Depends are checked
# against what is really installed. No maintainer scripts or triggers run outside the root.
root=$t/root
mkdir -p "$root/var/lib"
cp -a /var/lib/dpkg "$root/var/lib/"
rm -f "$root"/var/lib/dpkg/lock*
dpkg_root() { dpkg --root="$root" --force-not-root --force-script-chrootless --no-triggers "$@"; }
dpkg_root -i "$deb" >"$t/dpkg.log" 2>&1 || fail "dpkg -i failed: $(tail -5 "$t/dpkg.log")"
! grep -qi 'error\|depend' "$t/dpkg.log" || fail "dpkg -i complained: $(cat "$t/dpkg.log")"
grep -qx 'Status: install ok installed' <<<"$(dpkg_root -s tailbox)" || fail "tailbox not installed in the scratch root"
grep -q '^ts-status: ' <<<"$("$root/usr/bin/ts-status" --help)" || fail "the installed ts-status --help does not run"
grep -q '^sb-relay: ' <<<"$("$root/usr/bin/sb-relay" --help)" || fail "the installed sb-relay --help does not run"
grep -q "$version" <<<"$("$root/usr/bin/ts-status" --version)" || fail "the installed ts-status is not version $version"
grep -q -- '--require-peer' <<<"$("$root/usr/bin/tailbox-healthcheck" --help)" || fail "the installed tailbox-healthcheck does not run"
grep -q '^ExecStart=/usr/bin/tailbox-proxy ' "$root/usr/lib/systemd/system/tailbox-proxy.service" ||
  fail "the packaged unit does not run /usr/bin/tailbox-proxy"

dpkg_root -r tailbox >"$t/dpkg-r.log" 2>&1 || fail "dpkg -r failed: $(tail -5 "$t/dpkg-r.log")"
[ ! -e "$root/usr/bin/ts-status" ] || fail "dpkg -r left /usr/bin/ts-status"
echo "ok: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB, Depends: $depends"
