#!/usr/bin/env bash
# Fault: the disk is full when `ts-status --format prometheus --output FILE` writes (a 256 KiB tmpfs,
# filled, mounted by the test; needs root, else skipped).
# Expected: exit 74 (man/ts-status.1), exactly one line on stderr naming the file and the cause
# (No space left on device), the old file intact byte for byte, no temporary file left behind,
# nothing on stdout; once space is back, the same command writes the file and exits 0.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
[ "$(id -u)" = 0 ] || skip "needs root to mount a tiny tmpfs"
mkdir "$t/full"
mount -t tmpfs -o size=256k,mode=755 tmpfs "$t/full" 2>"$t/mount.err" || skip "cannot mount tmpfs: $(cat "$t/mount.err")"
# On exit: unmount first, then lib.sh's cleanup with the test's exit status (set +e: a failing
# `(exit rc)` must not end the trap early).
umount_then_cleanup() {
  local rc=$?
  umount "$t/full" 2>/dev/null || true
  set +e
  (exit "$rc")
  _tb_cleanup
}
trap umount_then_cleanup EXIT
printf '# old metrics\ntailbox_up 1\n' >"$t/full/m.prom"
cp "$t/full/m.prom" "$t/old.prom"
head -c 1048576 /dev/zero >"$t/full/filler" 2>/dev/null || true
[ "$(df --output=avail "$t/full" | tail -1 | tr -d ' ')" = 0 ] || fail "the tmpfs is not full: $(df "$t/full")"
start_fake --generate-peers 50
rc=0; "$ts" --socket "$FAKE_SOCK" --format prometheus --output "$t/full/m.prom" >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 74 ] || fail "disk full: exit $rc, want 74: $(cat "$t/err")"
[ "$(wc -l <"$t/err")" = 1 ] || fail "want one line on stderr: $(cat "$t/err")"
grep -q "$t/full/m.prom" "$t/err" && grep -qi "no space left" "$t/err" || fail "the message: $(cat "$t/err")"
[ ! -s "$t/out" ] || fail "stdout is not empty: $(head -3 "$t/out")"
cmp -s "$t/full/m.prom" "$t/old.prom" || fail "the old file was damaged: $(head -3 "$t/full/m.prom")"
[ "$(ls -A "$t/full" | sort | tr '\n' ' ')" = "filler m.prom " ] || fail "a temporary file was left: $(ls -A "$t/full")"
rm "$t/full/filler"
expect_exit 0 "$ts" --socket "$FAKE_SOCK" --format prometheus --output "$t/full/m.prom"
grep -qx 'tailbox_up 1' "$t/full/m.prom" && grep -q '^tailbox_peer_online' "$t/full/m.prom" || fail "rewritten file: $(head -5 "$t/full/m.prom")"
echo ok
