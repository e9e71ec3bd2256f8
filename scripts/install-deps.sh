#!/usr/bin/env bash
# Installs exactly the Debian 12 packages tailbox needs to build, test and benchmark.
# Idempotent: only missing packages are installed; `apt-get update` runs only when something is missing.
# Uses sudo when not root. Non-interactive (CI has no stdin).
set -euo pipefail

# Build: compiler, cmake, pkg-config and the libraries CMakeLists.txt finds (all Debian packages).
build_pkgs=(
  g++ cmake make pkg-config git
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libexpected-dev libasio-dev
  libqrencode-dev libc-ares-dev libyaml-cpp-dev
  libssl-dev  # OpenSSL, which sb-relay-doh.so (sb-relay's DNS over HTTPS) links for tls.certificate (libcommon/net)
)
# Tests: curl as the client, jq, python3, iproute2 and WireGuard for the namespace tailnet, procps,
# microsocks as an upstream for the relay chaining test, clang and its libFuzzer/sanitizer runtimes
# for the fuzz smoke run of `make test` (scripts/fuzz.sh), mingw-w64 (posix threads) and wine for
# the Windows build and its tests (make windows, ctest -L windows).
test_pkgs=( curl jq python3 iproute2 procps wireguard-go wireguard-tools man-db groff-base microsocks
            clang libclang-rt-14-dev
            g++-mingw-w64-x86-64-posix wine wine64
            zsh dpkg-dev file  # zsh -n on the zsh completions; dpkg-shlibdeps and file for make package
            debhelper lintian  # make package (dpkg-buildpackage over debian/) and its lintian check
            debootstrap shellcheck  # the Debian 12 roots of tests/systemd and make test-fresh; cli/shellcheck-scripts
            prometheus  # promtool: check metrics on ts-status's output, test rules on contrib/prometheus
            openssl  # the self-signed certificate of cli/sb-relay-dns's DoH server
            python3-yaml  # PyYAML: cli/sb-route-wild gives sing-box check the wild YAML configs as JSON
            build-essential  # dpkg-checkbuilddeps requires it before dpkg-buildpackage (cli/package-deb)
            unzip ca-certificates )  # the Go toolchain below, over HTTPS (curl does not pull them in
                                     # with --no-install-recommends)
# Benchmarks: hyperfine and the relay's peers.
bench_pkgs=( hyperfine time dante-server v2ray )

want=( "${build_pkgs[@]}" "${test_pkgs[@]}" )
case "${1:-}" in
  --bench) want+=( "${bench_pkgs[@]}" ) ;;
  --all) want+=( "${bench_pkgs[@]}" ) ;;
  "") ;;
  *) echo "usage: $0 [--bench|--all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=( "$p" )
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need_root() {
  [ -z "$SUDO" ] || command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: $*" >&2; exit 77; }
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present" >&2
else
  need_root "${missing[*]}"
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  echo "install-deps: done" >&2
fi

# Go, for the test references only (make lab: tailscale; make singbox; cli/sb-route-difftest), never
# for the product. Debian 12's golang (1.19) cannot build them, so when no go is on PATH a
# toolchain new enough for tests/*/go.mod (go 1.26.6 there) comes from the Go module proxy as the module
# golang.org/toolchain (what Go's own GOTOOLCHAIN download fetches) into /usr/local/go, linked from
# /usr/local/bin.
go_version=1.26.8
if ! command -v go >/dev/null; then
  case $(uname -m) in x86_64) go_arch=amd64 ;; aarch64) go_arch=arm64 ;; *) go_arch=$(uname -m) ;; esac
  go_proxy=${GOPROXY:-https://proxy.golang.org}
  go_proxy=${go_proxy%%,*}
  [ "$go_proxy" != direct ] && [ "$go_proxy" != off ] || go_proxy=https://proxy.golang.org
  go_mod="golang.org/toolchain@v0.0.1-go$go_version.linux-$go_arch"
  need_root "Go $go_version"
  echo "install-deps: installing Go $go_version from $go_proxy ($go_mod) into /usr/local/go" >&2
  go_tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$go_tmp/go.zip" "$go_proxy/golang.org/toolchain/@v/v0.0.1-go$go_version.linux-$go_arch.zip" ||
    { rm -rf "$go_tmp"; echo "install-deps: could not download Go $go_version from $go_proxy" >&2; exit 1; }
  unzip -q "$go_tmp/go.zip" -d "$go_tmp"
  $SUDO rm -rf /usr/local/go
  $SUDO mv "$go_tmp/$go_mod" /usr/local/go
  $SUDO ln -sfn /usr/local/go/bin/go /usr/local/bin/go
  $SUDO ln -sfn /usr/local/go/bin/gofmt /usr/local/bin/gofmt
  rm -rf "$go_tmp"
  /usr/local/bin/go version >&2
fi
