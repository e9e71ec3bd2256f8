#!/usr/bin/env bash
# `ts-status wait`: returns as soon as the condition holds, 75 on timeout, tolerates a daemon
# that starts later.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
start_fake --scenario "$TB_FIXTURES/scenarios/needs-login.json"

# Timeout: 75 with the state it saw.
rc=0; "$ts" --socket "$FAKE_SOCK" wait --for running --timeout 1s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q 'timed out after 1s waiting for running (state: needs_login)' "$t/err" || fail "timeout: $rc $(cat "$t/err")"

# Waits on the bus: log in while it waits; it returns right after Running.
"$ts" --socket "$FAKE_SOCK" wait --for running --timeout 20s 2>"$t/err" &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "wait never subscribed"
lapi /localapi/v0/login-interactive -X POST >/dev/null
fake_ctl '/visit-auth-url' >/dev/null
start=$(date +%s%N)
wait_exit "$pid" 0 10 "wait --for running, after Running" "$t/err"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "wait returned $ms ms after Running"

# ip and peer:NAME.
expect_exit 0 "$ts" --socket "$FAKE_SOCK" wait --for ip --timeout 5s --quiet
peer=$(lapi /localapi/v0/status | jq -r '[.Peer[] | select(.Online)][0].HostName')
expect_exit 0 "$ts" --socket "$FAKE_SOCK" wait --for "peer:$peer" --timeout 5s --quiet
fake_ctl "/peer?name=$peer&online=false" >/dev/null
expect_exit 75 "$ts" --socket "$FAKE_SOCK" wait --for "peer:$peer" --timeout 1s 2>/dev/null
"$ts" --socket "$FAKE_SOCK" wait --for "peer:$peer" --timeout 20s --quiet &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null
fake_ctl "/peer?name=$peer&online=true" >/dev/null
wait_exit "$pid" 0 10 "wait --for peer, after the peer came online"

# Conditions are repeatable: all must hold; the timeout names those that did not.
expect_exit 0 "$ts" --socket "$FAKE_SOCK" wait --for running --for "peer-online:$peer" --timeout 5s --quiet
rc=0; "$ts" --socket "$FAKE_SOCK" wait --for running --for exit-node-online --timeout 1s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q 'timed out after 1s waiting for exit-node-online (state: running)' "$t/err" \
  || fail "exit-node-online timeout: $rc $(cat "$t/err")"
# direct:NAME: a relayed peer times out; once direct, it returns.
fake_ctl "/peer?name=$peer&relay=fra&active=true" >/dev/null
lapi /localapi/v0/status | jq -e --arg n "$peer" '.Peer[] | select(.HostName == $n) | .CurAddr == ""' >/dev/null \
  || fake_ctl "/peer?name=$peer&direct=false" >/dev/null || true
rc=0; "$ts" --socket "$FAKE_SOCK" wait --for "direct:$peer" --timeout 1s 2>"$t/err" || rc=$?
[ "$rc" = 75 ] && grep -q "waiting for direct:$peer" "$t/err" || fail "direct: timeout: $rc $(cat "$t/err")"
"$ts" --socket "$FAKE_SOCK" wait --for "direct:$peer" --timeout 20s 2>"$t/err" &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null
fake_ctl "/peer?name=$peer&direct=true" >/dev/null
wait_exit "$pid" 0 10 "wait --for direct, after the peer went direct" "$t/err"
grep -q "^ts-status: direct:$peer: ok$" "$t/err" || fail "direct: message: $(cat "$t/err")"
# exit-node-online: the exit node comes online while it waits.
ip=$(lapi /localapi/v0/status | jq -r --arg n "$peer" '.Peer[] | select(.HostName == $n) | .TailscaleIPs[0]')
fake_ctl /action -H 'Content-Type: application/json' -d "{\"peer\": {\"name\": \"$peer\", \"ExitNodeOption\": true, \"online\": false}}" >/dev/null
lapi /localapi/v0/prefs -X PATCH -d "{\"ExitNodeIP\": \"$ip\", \"ExitNodeIPSet\": true}" >/dev/null
"$ts" --socket "$FAKE_SOCK" wait --for exit-node-online --timeout 20s --quiet 2>"$t/err" &
pid=$!; track_pid "$pid"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null
fake_ctl "/peer?name=$peer&online=true" >/dev/null
wait_exit "$pid" 0 10 "wait --for exit-node-online, after the exit node came online" "$t/err"
# dns:NAME asks the daemon's resolver (dns-query); a daemon without it is a protocol error at once.
rc=0; "$ts" --socket "$FAKE_SOCK" wait --for "dns:$peer" --timeout 10s 2>"$t/err" || rc=$?
[ "$rc" = 76 ] && grep -q 'dns-query: tailscaled answered HTTP 404' "$t/err" || fail "dns: without dns-query: $rc $(cat "$t/err")"
# Bad conditions: usage.
for bad in peer: direct: dns: sideways exit-node; do
  rc=0; "$ts" --socket "$FAKE_SOCK" wait --for "$bad" --timeout 1s 2>"$t/err" || rc=$?
  [ "$rc" = 2 ] && grep -q -- '--for must be running, ip, peer-online:NAME' "$t/err" || fail "--for $bad: $rc $(cat "$t/err")"
done
stop_fake

# The daemon is not there yet: wait keeps trying, and succeeds once it starts.
sock=$t/late.sock
"$ts" --socket "$sock" wait --for running --timeout 20s --quiet 2>"$t/err" &
pid=$!; track_pid "$pid"
"$TB_FAKES/fake_tailscaled" --socket "$sock" --generate-peers 1 >"$t/late.ready" &
track_pid $!
wait_exit "$pid" 0 15 "wait --for running, with the daemon starting late" "$t/err"
echo ok
