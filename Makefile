# tailbox: a thin wrapper over cmake and ctest. Sources are listed in the CMakeLists, never here.
#   make run     install missing packages, build, run the proxy pipeline on the embedded default config
#   make test    install missing packages, build, run every test (and a 10 s fuzz smoke run per target)
#   make fuzz    build the libFuzzer targets with clang and fuzz each for FUZZ_TIME seconds (default 60)
#   make package build the Debian package (debian/, dpkg-buildpackage) from build/: build/tailbox_<version>_<arch>.deb
#   make test-fresh  make test from a clean clone inside a fresh debootstrapped Debian 12 (minutes; not part of make test)
#   make load    sb-relay and ts-status watch under load for minutes (tests/load; LOAD_SOAK=120 s)
#   make tsan    sb-relay built with ThreadSanitizer, run under load with plan hot-swaps
#   make lab     build the tailnet lab (real tailscaled, tailscale, control server) into build/tailnet
#   make bench   benchmarks beside the peers (sing-box, dante, v2ray, microsocks; tailnet lab) into bench/RESULTS.md
#   make singbox build the reference sing-box (test-only; make test and make asan build it) into build/singbox
#   make difftest sb-route decide against the reference sing-box: DIFF_DECISIONS (100000) random decisions, a new seed
#   make windows cross-build the tailscale library, ts-status.exe and the pipe tests with mingw-w64 into build-win
BUILD    ?= build
ASAN_BUILD ?= build-asan
WIN_BUILD ?= build-win
PREFIX   ?= /usr/local
DESTDIR  ?=
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
FUZZ_TIME ?= 60

.PHONY: all deps build test test-fresh lab singbox windows windows-build run bench install package asan fuzz format clean help

all: build

help:
	@sed -n 's/^#   //p' Makefile

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Tests build with -Werror: a warning is a failure in CI.
test: deps
	cmake -S . -B $(BUILD) -DTB_WERROR=ON -DTB_WINDOWS_BUILD=$(CURDIR)/$(WIN_BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	@$(MAKE) --no-print-directory lab
	@$(MAKE) --no-print-directory singbox
	@$(MAKE) --no-print-directory windows-build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)
	bash scripts/fuzz.sh --smoke

# The tailnet lab's real tailscaled, tailscale CLI and control server, built from tailscale.com's
# source (tests/tailnet/go.mod) into $(BUILD)/tailnet; Go's build cache makes a rebuild take a
# second. Without Go (exit 77) the tailnet tests skip and say why; a failed build fails.
lab:
	@bash tests/tailnet/lab build $(BUILD)/tailnet >/dev/null || { rc=$$?; [ $$rc = 77 ] || exit $$rc; }

# The reference sing-box (tests/singbox/go.mod pins the release), built from source into
# $(BUILD)/singbox to compare sb-route's answers with sing-box's own (cli/sb-route-wild,
# cli/sb-route-difftest); make test and make asan build it first. Go's build cache makes a rebuild
# take seconds. Without Go or the module proxy (exit 77) it is skipped and so are the tests that
# need it (the reason in $(BUILD)/singbox/unavailable); a failed build fails.
singbox:
	@bash tests/singbox/build $(BUILD)/singbox >/dev/null || { rc=$$?; [ $$rc = 77 ] || exit $$rc; }

# The differential test (tests/singbox/difftest; HACKING.md, "The differential test"): the kept cases
# of tests/fixtures/singbox/diff, then DIFF_DECISIONS random decisions (200 per config) of sb-route
# decide against the reference sing-box, with a new seed each run (printed; DIFF_SEED=N repeats one).
# Each disagreement is minimised and appended to $(BUILD)/difftest-disagreements.md.
DIFF_DECISIONS ?= 100000
DIFF_SEED ?= 0
.PHONY: difftest
difftest: singbox
	cmake --build $(BUILD) -j $(JOBS) --target sb-route
	cd tests/singbox && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o $(CURDIR)/$(BUILD)/singbox/difftest ./difftest
	$(BUILD)/singbox/difftest -singbox $(BUILD)/singbox/sing-box -sbroute $(BUILD)/cmd/sb-route/sb-route \
	  -seed $(DIFF_SEED) -configs $$(( ($(DIFF_DECISIONS) + 199) / 200 )) -conns 200 -jobs 2 \
	  -cases tests/fixtures/singbox/diff -report $(BUILD)/difftest-disagreements.md

# Windows: core, the tailscale library (named-pipe transport), ts-status and tests/windows's
# pipe server cross-built with Debian's mingw-w64 (cmake/windows, cmake/mingw-w64.cmake) into
# $(WIN_BUILD). make test builds it and runs it under wine (ctest -L windows). HACKING.md, "Windows".
windows: deps windows-build

windows-build:
	cmake -S cmake/windows -B $(WIN_BUILD) -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/mingw-w64.cmake -DTB_WERROR=ON
	cmake --build $(WIN_BUILD) -j $(JOBS)

# Ctrl-C stops the proxy (exit 130); the recipe's shell then exits 0 on its own SIGINT, so make
# ends quietly instead of reporting "Error 130". RUN_ARGS go to tailbox-proxy (-c CONFIG, ...).
RUN_ARGS ?=
run: build
	@trap 'exit 0' INT; bash scripts/tailbox-proxy --bin $(BUILD)/cmd $(RUN_ARGS)

# Benchmarks (minutes; bench/RESULTS.md): sb-relay beside sing-box, microsocks, dante, v2ray and the
# splice relay on loopback, and into the lab's tailnet beside tailscaled's SOCKS5 and sing-box's
# endpoint, with the project's own load generator (bench/tbload.cpp). bench/run.sh lists its knobs.
bench:
	@bash scripts/install-deps.sh --bench
	cmake -S . -B $(BUILD) -DTB_BENCH=ON -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target ts-status sb-route sb-relay fake_tailscaled tbload splice_relay route_bench
	@$(MAKE) --no-print-directory lab
	@$(MAKE) --no-print-directory singbox
	bash bench/run.sh $(BUILD)

install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The .deb: dpkg-buildpackage -b -us -uc over debian/ (debhelper; HACKING.md, "Packaging"), in a
# copy of the tree under $(BUILD)/deb, packaging what `make build` built (no second compile). It
# installs under /usr whatever PREFIX is; its Depends come from dh_shlibdeps.
package: build
	@deb=$$(bash scripts/build-deb --prebuilt $(BUILD) $(BUILD)/deb) && cp "$$deb" $(BUILD)/ && \
	  echo "$(BUILD)/$$(basename "$$deb")"

# make test in a clean clone of this checkout's HEAD, inside a Debian 12 root debootstrapped once
# (minbase, make, git; Debian's /etc/hosts) and cached in $(BUILD)/fresh-root: the README's
# promise that git, make and the two commands are enough. Each run starts from the cached root.
test-fresh:
	bash scripts/test-fresh $(BUILD)/fresh-root

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DTB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DTB_WINDOWS_BUILD=$(CURDIR)/$(WIN_BUILD) $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@$(MAKE) --no-print-directory lab BUILD=$(ASAN_BUILD)
	@$(MAKE) --no-print-directory singbox BUILD=$(ASAN_BUILD)
	@$(MAKE) --no-print-directory windows-build
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

# Load (minutes, not part of make test): 5,000 relayed connections held, a LOAD_SOAK-second soak,
# the connection cap; ts-status watch on a churning 1,000-peer tailnet. Figures: docs/reliability-load.md.
LOAD_SOAK ?= 120
.PHONY: load tsan
load: build
	TB_BIN=$(CURDIR)/$(BUILD)/cmd TB_FAKES=$(CURDIR)/$(BUILD)/tests/fakes LOAD_SOAK=$(LOAD_SOAK) bash tests/load/run.sh

# sb-relay built with ThreadSanitizer in build-tsan, run under load with plan hot-swaps.
tsan: build
	JOBS=2 bash scripts/tsan.sh --build build-tsan --bin $(BUILD)/cmd

# libFuzzer + ASan + UBSan in build-fuzz (clang); a crash fails. See HACKING.md, "Fuzzing".
fuzz: deps
	FUZZ_TIME=$(FUZZ_TIME) bash scripts/fuzz.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(WIN_BUILD)
