#!/usr/bin/env bash
# tailbox-proxy refuses what it cannot run before starting any stage, with one line on stderr,
# nothing on stdout, no run directory left behind and no stage process started:
#   a bad command line (an unknown argument, an option without its value or with an empty one)
#   is exit 2;
#   a config sb-route refuses at load (as sb-route plan does; sb-route check accepts what sing-box
#   refuses only at start, with a warning) is sb-route's status (78), with sb-route's message;
#   tools missing from --bin (and PATH) is exit 69.
# --help lists the options and exits 0.
. "$(dirname "$0")/lib.sh"
proxy=$TB_SRC/scripts/tailbox-proxy
sb_route=$(tool sb-route)
export TMPDIR=$t/tmp   # tailbox-proxy's run directory would be made here
mkdir -p "$TMPDIR"

# run_refused CODE ARGS...: tailbox-proxy exits CODE within 10 s, says so on stderr, writes nothing
# to stdout, leaves no run directory. A proxy that started its stages would not exit: the timeout
# (124) catches it.
run_refused() {
  local want=$1 rc=0; shift
  timeout 10 bash "$proxy" "$@" >"$t/out" 2>"$t/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "tailbox-proxy $*: exit $rc, expected $want; stderr: $(cat "$t/err")"
  [ ! -s "$t/out" ] || fail "tailbox-proxy $*: wrote to stdout: $(head -c 300 "$t/out")"
  [ -s "$t/err" ] || fail "tailbox-proxy $*: exit $rc with nothing on stderr"
  [ -z "$(ls -A "$TMPDIR")" ] || fail "tailbox-proxy $*: left $(ls -A "$TMPDIR") in TMPDIR"
}

bash "$proxy" --help >"$t/help" || fail "--help exit $?"
for o in --config --bin --socket --allow-open --help; do contains -e "$o" <"$t/help" || fail "--help lacks $o"; done

run_refused 2 --frobnicate
[ "$(wc -l <"$t/err")" = 1 ] || fail "more than one line for an unknown argument: $(cat "$t/err")"
contains 'unknown argument --frobnicate' <"$t/err" || fail "unknown argument not named: $(cat "$t/err")"
for o in --bin -c --config --socket; do
  run_refused 2 --bin "$TB_BIN" "$o"
  contains -e "$o needs a value" <"$t/err" || fail "$o without a value: $(cat "$t/err")"
done
# An empty value (an unset variable in a unit file) is not the default.
run_refused 2 --bin "$TB_BIN" -c ""
contains -e '-c needs a value' <"$t/err" || fail "empty -c: $(cat "$t/err")"
for o in --config --bin --socket; do
  run_refused 2 --bin "$TB_BIN" "$o="
  contains -e "$o needs a value" <"$t/err" || fail "empty $o=: $(cat "$t/err")"
done

# A config sing-box would refuse: route.final names no outbound.
cat >"$t/bad.json" <<'EOF'
{"inbounds":[{"type":"mixed","tag":"in","listen":"127.0.0.1","listen_port":1080}],
 "outbounds":[{"type":"direct","tag":"direct"}],
 "route":{"rules":[{"domain_suffix":["example.com"],"outbound":"direct"}],"final":"nowhere"}}
EOF
# sing-box check accepts it (the reference resolves route.final at start), so sb-route check warns
# and exits 0; sb-route plan refuses it at load (78), and so does tailbox-proxy, before any stage.
want=0; "$sb_route" check -c "$t/bad.json" >/dev/null 2>"$t/check-err" || want=$?
[ "$want" = 0 ] || fail "sb-route check on the bad config: exit $want, expected 0 (a warning)"
contains 'warning: route.final: default outbound not found: nowhere (sing-box check accepts this;' <"$t/check-err" ||
  fail "sb-route check's warning: $(cat "$t/check-err")"
want=0; "$sb_route" plan -c "$t/bad.json" </dev/null >/dev/null 2>"$t/plan-err" || want=$?
[ "$want" = 78 ] || fail "sb-route plan on the bad config: exit $want, expected 78"
contains 'error: route.final: default outbound not found: nowhere' <"$t/plan-err" || fail "sb-route plan: $(cat "$t/plan-err")"
run_refused 78 --bin "$TB_BIN" -c "$t/bad.json"
contains 'error: route.final: default outbound not found: nowhere' <"$t/err" ||
  fail "sb-route's message is not passed on: $(cat "$t/err")"
contains "tailbox-proxy: $t/bad.json is not usable" <"$t/err" || fail "no tailbox-proxy line: $(cat "$t/err")"
# --config=FILE is the same option.
run_refused 78 --bin "$TB_BIN" --config="$t/bad.json"

# A config sb-route check refuses too (an unknown outbound type, refused by sing-box check).
cat >"$t/bad-type.json" <<'EOF'
{"outbounds":[{"type":"frobnicate","tag":"x"}]}
EOF
want=0; "$sb_route" check -c "$t/bad-type.json" >/dev/null 2>&1 || want=$?
[ "$want" = 78 ] || fail "sb-route check on an unknown outbound type: exit $want, expected 78"
run_refused 78 --bin "$TB_BIN" -c "$t/bad-type.json"
contains 'frobnicate' <"$t/err" || fail "sb-route's message is not passed on: $(cat "$t/err")"

# A config file that is not there: sb-route check's own status and message.
want=0; "$sb_route" check -c "$t/missing.json" >/dev/null 2>&1 || want=$?
[ "$want" != 0 ] || fail "sb-route check accepted a missing file"
run_refused "$want" --bin "$TB_BIN" -c "$t/missing.json"
contains 'missing.json' <"$t/err" || fail "the missing file is not named: $(cat "$t/err")"

# No tools in --bin, none on PATH (the system's PATH, without an installed tailbox).
mkdir -p "$t/empty"
PATH=/usr/bin:/bin
if command -v ts-status >/dev/null; then
  echo "note: ts-status is installed in /usr/bin, so the missing-tool case (exit 69) was not run"
else
  run_refused 69 --bin "$t/empty"
  contains "ts-status not found in $t/empty" <"$t/err" || fail "exit 69 without naming ts-status: $(cat "$t/err")"
fi
