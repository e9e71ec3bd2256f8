#!/usr/bin/env bash
# scripts/tailbox-healthcheck against the stand-in daemon: it passes ts-status check's output and
# exit status through (OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3), forwards check options, writes one
# log line per run (--log FILE; syslog through a stub logger), and reports its own errors in one line.
. "$(dirname "$0")/lib.sh"
hc=$TB_SRC/scripts/tailbox-healthcheck
ts=$(tool ts-status)
[ -x "$hc" ] || fail "$hc is not executable"

# run CODE ARGS...: run the healthcheck (its stdout in $t/out, stderr in $t/err), expect exit CODE.
run() {
  local want=$1 rc=0
  shift
  "$hc" --bin "$TB_BIN" --no-syslog --log "$t/hc.log" "$@" >"$t/out" 2>"$t/err" || rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc, expected $want: $* (stdout: $(cat "$t/out"); stderr: $(cat "$t/err"))"
}
# last_log STATE RC PATTERN: the newest log line is "TIME tailbox-healthcheck STATE exit=RC LINE".
last_log() {
  local line
  line=$(tail -n 1 "$t/hc.log")
  printf '%s\n' "$line" | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z tailbox-healthcheck $1 exit=$2 TAILSCALE $1 - " ||
    fail "bad log line for $1/$2: $line"
  printf '%s\n' "$line" | contains -- "$3" || fail "log line lacks '$3': $line"
}
lines() { wc -l <"$t/hc.log" | tr -d ' '; }

# --help documents every option of ts-status check (they are passed through).
"$hc" --help >"$t/help" || fail "--help failed"
for opt in $("$ts" check --help | grep -E '^ +-' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
  [ "$opt" = --help ] || [ "$opt" = --quiet ] || grep -q -- "$opt" "$t/help" || fail "--help lacks the check option $opt"
done

start_fake

run 0 --socket "$FAKE_SOCK"
grep -q '^TAILSCALE OK - running' "$t/out" || fail "OK output: $(cat "$t/out")"
[ "$(lines)" = 1 ] || fail "one run, $(lines) log lines"
last_log OK 0 "peers_online"

# Check options are passed through, before or after --.
run 2 --socket "$FAKE_SOCK" --require-peer no-such-peer
grep -q '^TAILSCALE CRITICAL' "$t/out" || fail "CRITICAL output: $(cat "$t/out")"
last_log CRITICAL 2 "no-such-peer"
run 0 --socket "$FAKE_SOCK" --request-timeout 3s -- --require-peer peer1 --crit-expiry 1d
last_log OK 0 "running"

# WARNING: a health message with --warn-health. The log keeps the first line only.
fake_ctl '/health?msg=hello%20there' >/dev/null
run 1 --socket="$FAKE_SOCK" --warn-health
grep -q '^health: hello there' "$t/out" || fail "the health lines were not passed through: $(cat "$t/out")"
last_log WARNING 1 "health warning"
[ "$(lines)" = 4 ] || fail "4 runs, $(lines) log lines"

# --quiet: nothing on stdout, the log line is still written.
fake_ctl '/health' -H 'Content-Type: application/json' -d '[]' >/dev/null
fake_ctl '/state?value=Stopped' >/dev/null
run 2 --socket "$FAKE_SOCK" --quiet
[ ! -s "$t/out" ] || fail "--quiet printed: $(cat "$t/out")"
last_log CRITICAL 2 "Stopped\|stopped"

# Syslog: logger -t tailbox-healthcheck with a priority from the state (a stub logger records it).
mkdir -p "$t/path"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/logger.args"\n' "$t" >"$t/path/logger"
chmod +x "$t/path/logger"
fake_ctl '/state?value=Running' >/dev/null
PATH=$t/path:$PATH "$hc" --bin "$TB_BIN" --socket "$FAKE_SOCK" --syslog --quiet || fail "syslog run failed"
grep -q -- '^-t tailbox-healthcheck -p user.info -- OK exit=0 TAILSCALE OK - running' "$t/logger.args" ||
  fail "logger got: $(cat "$t/logger.args")"

# The daemon goes away: CRITICAL with the reason, still one log line.
stop_fake
run 2 --socket "$FAKE_SOCK"
grep -q '^TAILSCALE CRITICAL - cannot connect to tailscaled' "$t/out" || fail "daemon down: $(cat "$t/out")"
last_log CRITICAL 2 "cannot connect"

# Its own errors: one line on stderr, UNKNOWN (3), logged.
run 3 --socket "$FAKE_SOCK" --no-such-option
grep -q '^TAILSCALE UNKNOWN - ts-status check exited 3' "$t/out" || fail "bad option: $(cat "$t/out")"
last_log UNKNOWN 3 "no-such-option"
mkdir "$t/empty"
rc=0; "$hc" --bin "$t/empty" --no-syslog --log "$t/hc.log" >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 3 ] || fail "ts-status not found: exit $rc"
[ "$(wc -l <"$t/err")" = 1 ] && grep -q "^tailbox-healthcheck: ts-status not found in $t/empty" "$t/err" ||
  fail "ts-status not found: $(cat "$t/err")"
last_log UNKNOWN 3 "not found"
rc=0; "$hc" --log >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 3 ] && [ "$(cat "$t/err")" = "tailbox-healthcheck: --log needs a value (see --help)" ] ||
  fail "--log without a value: exit $rc, $(cat "$t/err")"
# An unwritable log file is reported; the exit status stays the check's.
rc=0; "$hc" --bin "$TB_BIN" --socket "$FAKE_SOCK" --no-syslog --log "$t/no/such/dir/log" >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 2 ] || fail "unwritable log: exit $rc"
grep -q "cannot append to the log file $t/no/such/dir/log" "$t/err" || fail "unwritable log: $(cat "$t/err")"
echo ok
