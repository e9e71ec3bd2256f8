#!/usr/bin/env bash
# `ts-status check`: one plugin line with perfdata and exit 0/1/2/3 for each situation.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)

# KeyExpiry relative to now, for the thresholds.
in_days() { date -u -d "+$1 days" +%Y-%m-%dT%H:%M:%SZ; }
cat >"$t/scenario.json" <<JSON
{"generate_peers": 4, "timeline": []}
JSON
start_fake --scenario "$t/scenario.json"
chk() { local rc=0; "$ts" --socket "$FAKE_SOCK" check "$@" >"$t/out" 2>"$t/err" || rc=$?; echo "$rc"; }

rc=$(chk)
[ "$rc" = 0 ] || fail "healthy: exit $rc: $(cat "$t/out")"
head -1 "$t/out" | grep -Eq "^TAILSCALE OK - running as [^ ]+ \(100\.[0-9.]+\), [0-9]+/[0-9]+ peers online, key expires in .* \| 'peers'=[0-9]+;;;0 'peers_online'=" \
  || fail "OK line: $(cat "$t/out")"
grep -q "'key_expiry_seconds'=[0-9]*s;1209600:;259200:;0" "$t/out" || fail "expiry perfdata: $(cat "$t/out")"

# Thresholds: the synthesized self key expires in about 180 days (see the fake); move the thresholds around it.
exp_s=$(lapi /localapi/v0/status | jq -r '.Self.KeyExpiry // empty')
[ -n "$exp_s" ] || fail "fixture self has no KeyExpiry"
rc=$(chk --warn-expiry 5000d --crit-expiry 1d)
[ "$rc" = 1 ] && grep -q '^TAILSCALE WARNING - key expires in' "$t/out" || fail "warn-expiry: $rc $(cat "$t/out")"
rc=$(chk --warn-expiry 6000d --crit-expiry 5000d)
[ "$rc" = 2 ] && grep -q '^TAILSCALE CRITICAL - key expires in' "$t/out" || fail "crit-expiry: $rc $(cat "$t/out")"

# Required peers: online → OK; offline → CRITICAL; missing → CRITICAL; not direct → WARNING.
online_direct=$(lapi /localapi/v0/status | jq -r '[.Peer[] | select(.Online and .CurAddr != "")][0].HostName')
[ "$online_direct" != null ] || fail "no direct peer in the generated tailnet"
rc=$(chk --require-peer "$online_direct" --require-direct)
[ "$rc" = 0 ] || fail "require direct peer: $rc $(cat "$t/out")"
fake_ctl "/peer?name=$online_direct&relay=fra&active=true" >/dev/null
rc=$(chk --require-peer "$online_direct" --require-direct)
[ "$rc" = 1 ] && grep -q "peer $online_direct not direct" "$t/out" || fail "relayed peer: $rc $(cat "$t/out")"
fake_ctl "/peer?name=$online_direct&online=false" >/dev/null
rc=$(chk --require-peer "$online_direct")
[ "$rc" = 2 ] && grep -q "peer $online_direct offline" "$t/out" || fail "offline peer: $rc $(cat "$t/out")"
rc=$(chk --require-peer no-such-peer)
[ "$rc" = 2 ] && grep -q 'peer no-such-peer not in the tailnet' "$t/out" || fail "missing peer: $rc"

# Health only matters with --warn-health.
fake_ctl '/health?msg=not%20in%20map%20poll' >/dev/null
rc=$(chk)
[ "$rc" = 0 ] && grep -q '^health: not in map poll$' "$t/out" || fail "health listed: $rc $(cat "$t/out")"
rc=$(chk --warn-health)
[ "$rc" = 1 ] || fail "--warn-health: $rc"

# Not running: CRITICAL; starting: WARNING; --quiet prints nothing.
fake_ctl '/state?value=Stopped' >/dev/null
rc=$(chk)
[ "$rc" = 2 ] && grep -q '^TAILSCALE CRITICAL - state stopped' "$t/out" || fail "stopped: $rc $(cat "$t/out")"
rc=$(chk --quiet)
[ "$rc" = 2 ] && [ ! -s "$t/out" ] || fail "--quiet printed: $(cat "$t/out")"
fake_ctl '/state?value=Starting' >/dev/null
rc=$(chk)
[ "$rc" = 1 ] || fail "starting: $rc"

# Daemon unreachable: CRITICAL with the reason; bad arguments: UNKNOWN.
stop_fake
rc=$(chk)
[ "$rc" = 2 ] && grep -q '^TAILSCALE CRITICAL - cannot connect to tailscaled' "$t/out" || fail "unreachable: $rc $(cat "$t/out")"
rc=$(chk --crit-expiry never)
[ "$rc" = 3 ] || fail "bad argument: $rc"
echo ok
