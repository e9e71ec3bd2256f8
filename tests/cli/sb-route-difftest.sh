#!/usr/bin/env bash
# sb-route decide against the reference sing-box (tests/singbox/difftest, HACKING.md "The
# differential test"): the kept cases of tests/fixtures/singbox/diff and a fixed seed's few thousand
# random decisions. Skipped without the reference (make singbox) or Go.
. "$(dirname "$0")/lib.sh"
sb=$(tool sb-route)
ref=${TB_SINGBOX:-$TB_BIN/../singbox/sing-box}
[ -x "$ref" ] || skip "no reference sing-box at $ref (make singbox)"
command -v go >/dev/null || skip "Go is not installed (the differential test is written in Go)"
(cd "$TB_SRC/tests/singbox" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$t/difftest" ./difftest) ||
  fail "go build of tests/singbox/difftest failed"
"$t/difftest" -singbox "$ref" -sbroute "$sb" -seed "${DIFFTEST_SEED:-14}" -configs 60 -conns 50 -jobs 2 \
  -cases "$TB_FIXTURES/singbox/diff" -explain 3 || fail "sb-route and sing-box disagree (see above)"
