#!/usr/bin/env bash
# `make package`: scripts/build-deb runs dpkg-buildpackage -b -us -uc over debian/ (debhelper,
# compat 13) with the build tree's binaries (here into a temp dir, so a concurrent `make package`
# is not disturbed). Its control fields and contents are right (compressed man pages, units in
# /lib/systemd/system, /etc/default/tailbox-proxy a conffile, example configs that sb-route
# accepts), lintian reports no error and no warning, and in a scratch Debian 12 root (an overlay
# over the cached debootstrapped build/sysroot, maintainer scripts run chrooted) the package
# installs with its Depends satisfied, runs, is purged with nothing left behind (the units and
# their enablement gone, though an administrator enabled them), and installs again.
. "$(dirname "$0")/lib.sh"
build=$(cd "$TB_BIN/.." && pwd)
for c in dpkg-buildpackage dh dpkg-deb lintian; do
  command -v "$c" >/dev/null || skip "$c not installed (scripts/install-deps.sh installs dpkg-dev, debhelper, lintian)"
done
for tool in ts-status ts-auth sb-route sb-relay; do tool "$tool" >/dev/null; done
sanitized "$(tool sb-relay)" && skip "the binaries are built with a sanitizer (make asan): they need libasan, which a shipped package never does; make test checks the package"

deb=$(DEB_BUILD_OPTIONS=noautodbgsym timeout 300 bash "$TB_SRC/scripts/build-deb" --prebuilt "$build" "$t/out" 2>"$t/build.err") ||
  fail "build-deb failed: $(cat "$t/build.err")"
[ -f "$deb" ] || fail "build-deb printed $deb, which does not exist"
version=$(sed -n 's/^project(tailbox VERSION \([0-9.]*\).*/\1/p' "$TB_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "tailbox_${version}_$arch.deb" ] || fail "package file name $(basename "$deb"), project() says $version"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = tailbox ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), project() says $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
depends=$(field Depends)
for lib in libc6 libstdc++6 libfmt libspdlog libyaml-cpp libqrencode; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dh_shlibdeps): $depends"
done
grep -q tailscale <<<"$(field Recommends) $(field Suggests)" || fail "tailscale is neither recommended nor suggested"
grep -q 'daemon-only' <<<"$(field Description)" || fail "Description: $(field Description)"
[ "$(dpkg-deb -I "$deb" conffiles)" = "$(printf '/etc/default/tailbox-healthcheck\n/etc/default/tailbox-proxy')" ] ||
  fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"

# Contents: /usr, the units in /lib/systemd/system, the settings in /etc/default; no tests.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$t/files"
for f in /usr/bin/ts-status /usr/bin/ts-auth /usr/bin/sb-route /usr/bin/sb-relay /usr/lib/tailbox/sb-relay-doh.so \
    /usr/bin/tailbox-proxy /usr/bin/tailbox-healthcheck /usr/share/man/man1/ts-status.1.gz /usr/share/man/man1/tailbox-healthcheck.1.gz \
    /usr/share/man/man1/tailbox-proxy.1.gz /usr/share/man/man5/sb-route.json.5.gz /usr/share/man/man7/tailbox.7.gz \
    /lib/systemd/system/tailbox-proxy.service /lib/systemd/system/tailbox-healthcheck.service \
    /lib/systemd/system/tailbox-healthcheck.timer /etc/default/tailbox-proxy /etc/default/tailbox-healthcheck \
    /usr/share/doc/tailbox/copyright /usr/share/doc/tailbox/changelog.gz \
    /usr/share/doc/tailbox/examples/tailbox-prometheus /usr/share/doc/tailbox/examples/default.json \
    /usr/share/doc/tailbox/examples/routing-mark.json \
    /usr/share/bash-completion/completions/ts-status /usr/share/zsh/vendor-completions/_sb-relay; do
  grep -qx "$f" "$t/files" || fail "$f is not in the package"
done
outside=$(grep -Ev '^/(usr|lib/systemd/system|etc/default)/' "$t/files" | grep -Ev '^/((lib|lib/systemd|etc)/?)?$' || true)
[ -z "$outside" ] || fail "files outside /usr, /lib/systemd/system and /etc/default: $outside"
! grep -q '\.[1-8]$' "$t/files" || fail "uncompressed man pages: $(grep '\.[1-8]$' "$t/files")"
! grep -q 'fake_tailscaled\|unit_' "$t/files" || fail "test programs in the package"
[ "$(dpkg-deb -c "$deb" | awk '$6=="./usr/bin/tailbox-healthcheck"{print $1}')" = -rwxr-xr-x ] ||
  fail "tailbox-healthcheck is not executable in the package"
dpkg-deb -x "$deb" "$t/x"
for f in "$t"/x/usr/share/doc/tailbox/examples/*.json; do
  "$(tool sb-route)" check -c "$f" >/dev/null 2>"$t/check.err" || fail "sb-route check refuses the example $f: $(cat "$t/check.err")"
done

# lintian: no error and no warning (debian/tailbox.lintian-overrides gives the reason of each
# override); informational tags are printed, not failed.
lintian --fail-on error,warning "$deb" >"$t/lintian" 2>&1 || fail "lintian: $(cat "$t/lintian")"
grep -q '^[EW]: ' "$t/lintian" && fail "lintian: $(cat "$t/lintian")"

# The scratch root: an overlay over the cached Debian 12 root, in a mount namespace of its own.
[ "$(id -u)" = 0 ] || skip "the package is fine; installing it in a scratch root needs root (not tested)"
command -v unshare >/dev/null || skip "the package is fine; no unshare for the scratch root (not tested)"
rc=0; timeout 600 bash "$TB_SRC/scripts/debian-root" "$build/sysroot" --systemd 2>"$t/root.err" || rc=$?
[ "$rc" = 77 ] && skip "the package is fine; no Debian root for the scratch install: $(cat "$t/root.err")"
[ "$rc" = 0 ] || fail "debian-root: $(cat "$t/root.err")"
mkdir -p "$t/upper" "$t/work" "$t/root"
cp "$deb" "$t/tailbox.deb"
cat >"$t/scratch.sh" <<'EOF'
set -eu
t=$1 lower=$2 r=$1/root
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$t/upper,workdir=$t/work" "$r"
mount -t proc proc "$r/proc"
mkdir -p "$r/tmp/pkg"; mount --bind "$t" "$r/tmp/pkg"
in_root() { chroot "$r" "$@"; }
listing() { (cd "$r" && find . -xdev \( -path ./proc -o -path ./tmp/pkg -o -path ./var/lib/dpkg -o -path ./var/log \) -prune -o -print | sort); }
listing >"$t/before"
step() { echo "== $*"; }
step install;   in_root dpkg -i /tmp/pkg/tailbox.deb
in_root ts-status --version
in_root sb-route check -c /usr/share/doc/tailbox/examples/routing-mark.json
step enabled by the administrator
in_root systemctl enable tailbox-proxy.service tailbox-healthcheck.timer
listing >"$t/installed"
step purge;     in_root dpkg --purge tailbox
listing >"$t/purged"
step reinstall; in_root dpkg -i /tmp/pkg/tailbox.deb
listing >"$t/reinstalled"
in_root systemctl is-enabled tailbox-proxy.service || true
step purge again; in_root dpkg --purge tailbox
umount "$r/tmp/pkg" "$r/proc" "$r"
EOF
timeout 120 unshare --mount --propagation private bash "$t/scratch.sh" "$t" "$build/sysroot" >"$t/scratch.log" 2>&1 ||
  fail "install/purge/reinstall in the scratch root: $(tail -8 "$t/scratch.log")"
! grep -qi 'warning\|error' "$t/scratch.log" || fail "dpkg complained: $(cat "$t/scratch.log")"
grep -qx 'disabled' "$t/scratch.log" || fail "reinstalled after a purge, tailbox-proxy.service is not disabled: $(cat "$t/scratch.log")"
# (bookworm's root has merged /usr: /lib/systemd/system is /usr/lib/systemd/system)
for f in ./usr/lib/systemd/system/tailbox-proxy.service ./etc/default/tailbox-proxy ./usr/bin/sb-relay \
    ./etc/systemd/system/multi-user.target.wants/tailbox-proxy.service; do
  grep -qx "$f" "$t/installed" || fail "$f not there after install and enable"
  grep -qx "$f" "$t/reinstalled" || [ "${f#./etc/systemd}" != "$f" ] || fail "$f not there after reinstall"
done
left=$(comm -13 "$t/before" "$t/purged")
[ -z "$left" ] || fail "left behind by purge: $left"
gone=$(comm -23 "$t/before" "$t/purged")
[ -z "$gone" ] || fail "removed by purge though not the package's: $gone"
echo "ok: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB, Depends: $depends; lintian: $(grep -c '^I: ' "$t/lintian") info tags"
