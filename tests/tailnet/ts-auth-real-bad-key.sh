#!/usr/bin/env bash
# ts-auth up with a key the real control server refuses: exit 65 within 10 s, tailscaled's own
# message ("invalid authkey", from the control server through the IPN bus) on stderr, the wrong key
# itself nowhere in the output; the node stays logged out.
. "$(dirname "$0")/lib.sh"
AUTH=$(tool ts-auth)

lab_up
bad=tskey-auth-wrong-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s\n' "$bad" >"$t/bad")
start=$SECONDS
rc=0
timeout 20 "$AUTH" --socket "$NODE_SOCK" up --control-url "$CONTROL_URL" --auth-key-file "$t/bad" --timeout 60s \
  >"$t/out" 2>"$t/err" || rc=$?
took=$((SECONDS - start))
[ "$rc" = 65 ] || fail "exit $rc, want 65: $(cat "$t/err")"
[ "$took" -le 10 ] || fail "took ${took}s, want at most 10"
# The daemon's message, as the control server sent it to tailscaled.
grep -q 'Received error: invalid authkey' "$LAB_DIR/logs/tailscaled-node.log" ||
  fail "tailscaled did not log the refusal: the expected message is not the daemon's"
grep -q '^ts-auth: tailscaled: invalid authkey' "$t/err" || fail "stderr lacks tailscaled's message: $(cat "$t/err")"
grep -qF -f "$t/bad" "$t/out" "$t/err" && fail "the key is in the output"
[ "$(state_of node)" = NeedsLogin ] || fail "state after a refused key: $(state_of node)"
echo "ok: exit 65 in ${took}s: $(cat "$t/err")"
