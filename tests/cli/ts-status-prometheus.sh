#!/usr/bin/env bash
# --format prometheus: node_exporter textfile metrics, written atomically, even when the daemon
# is down; an unwritable file is exit 74 and the old file stays.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
start_fake --generate-peers 4
out=$t/textfile/tailscale.prom
mkdir -p "$t/textfile"

expect_exit 0 "$ts" --socket "$FAKE_SOCK" --format prometheus --output "$out"
grep -qx 'tailbox_up 1' "$out" || fail "tailbox_up"
grep -qx 'tailbox_state{state="running"} 1' "$out" || fail "state"
grep -qx 'tailbox_peers 4' "$out" || fail "peers"
[ "$(grep -c '^tailbox_peer_online{peer="peer[0-9]*",id="[^"]*",os="[^"]*"} [01]$' "$out")" = 4 ] || fail "per-peer online"
grep -q '^tailbox_peer_direct{' "$out" && grep -q '^tailbox_self_key_expiry_timestamp_seconds [0-9]' "$out" || fail "direct/expiry"
# Every family has HELP and TYPE; the file ends with a newline; no temp files left behind.
for fam in $(grep -v '^#' "$out" | sed 's/[{ ].*//' | sort -u); do
  grep -q "^# TYPE $fam gauge$" "$out" || fail "no TYPE for $fam"
  grep -q "^# HELP $fam " "$out" || fail "no HELP for $fam"
done
[ "$(tail -c1 "$out" | od -An -c | tr -d ' ')" = '\n' ] || fail "no final newline"
[ "$(ls -A "$t/textfile" | wc -l)" = 1 ] || fail "temporary file left: $(ls -A "$t/textfile")"
# Same text on stdout without --output.
"$ts" --socket "$FAKE_SOCK" --format prometheus | grep -v last_run >"$t/stdout.prom"
grep -v last_run "$out" | cmp -s - "$t/stdout.prom" || fail "stdout and file differ"

# Daemon down: the file says tailbox_up 0, exit 69.
stop_fake
expect_exit 69 "$ts" --socket "$FAKE_SOCK" --format prometheus --output "$out" 2>/dev/null
grep -qx 'tailbox_up 0' "$out" || fail "down: $(cat "$out")"
grep -q '^tailbox_last_run_timestamp_seconds [0-9]' "$out" || fail "last_run"

# Unwritable target directory: exit 74, old file kept.
expect_exit 74 "$ts" --socket "$FAKE_SOCK" --format prometheus --output "$t/no/such/dir.prom" 2>"$t/err"
grep -q "$t/no/such/dir.prom" "$t/err" || fail "74 message: $(cat "$t/err")"
# A full disk (tmpfs of one block), when we may mount: the old file stays whole.
if [ "$(id -u)" = 0 ] && mkdir -p "$t/full" && mount -t tmpfs -o size=4k tmpfs "$t/full" 2>/dev/null; then
  printf 'tailbox_up 1\n' >"$t/full/m.prom"
  head -c 3000 /dev/zero >"$t/full/filler" || true
  start_fake --generate-peers 50
  rc=0; "$ts" --socket "$FAKE_SOCK" --format prometheus --output "$t/full/m.prom" 2>"$t/err" || rc=$?
  content=$(cat "$t/full/m.prom")
  umount "$t/full"
  [ "$rc" = 74 ] || fail "disk full: exit $rc"
  [ "$content" = "tailbox_up 1" ] || fail "disk full: old file damaged"
fi
echo ok
