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

# Structured health (the IPN bus): a warning that impacts connectivity is CRITICAL even without
# --warn-health; the others stay WARNING only with --warn-health. The status record carries them.
fake_ctl /action -H 'Content-Type: application/json' \
  -d '{"health": [{"code": "network-status", "text": "Network down"}, {"code": "x-other", "text": "meh"}]}' >/dev/null
rc=$(chk)
[ "$rc" = 2 ] && grep -q '^TAILSCALE CRITICAL - health network-status (medium, impacts connectivity): Network down' "$t/out" \
  || fail "connectivity health: $rc $(cat "$t/out")"
grep -q "'health_connectivity'=1;;0;0" "$t/out" || fail "health_connectivity perfdata: $(cat "$t/out")"
grep -q '1 health warning(s)' "$t/out" && fail "a non-impacting warning without --warn-health: $(cat "$t/out")"
rc=$(chk --warn-health)
[ "$rc" = 2 ] && grep -q '; 1 health warning(s)' "$t/out" || fail "--warn-health with structured health: $rc $(cat "$t/out")"
# watch's status records carry them (from the bus).
# (the first record may come before the bus's first Notify: a later one has them)
stream_open watch "$ts" --socket "$FAKE_SOCK" watch --no-events
stream_until '.health_warnings != []' 5 "watch's record with health_warnings"
jq -e '.health_warnings | map([.code, .severity, .impacts_connectivity, .text])
  == [["network-status", "medium", true, "Network down"], ["x-other", "medium", false, "meh"]]' <<<"$LINE" >/dev/null \
  || fail "health_warnings in watch's status record: $(jq -c .health_warnings <<<"$LINE")"
stream_stop
fake_ctl /action -H 'Content-Type: application/json' -d '{"health": [{"code": "x-other", "text": "meh"}]}' >/dev/null
rc=$(chk)
[ "$rc" = 0 ] || fail "non-impacting health without --warn-health: $rc $(cat "$t/out")"
rc=$(chk --warn-health)
[ "$rc" = 1 ] && grep -q '^TAILSCALE WARNING - 1 health warning(s)' "$t/out" || fail "non-impacting, --warn-health: $rc $(cat "$t/out")"
fake_ctl /action -H 'Content-Type: application/json' -d '{"health": []}' >/dev/null

# --max-relayed N: WARNING above N relayed peers (the threshold in the perfdata too).
relayed=$(lapi /localapi/v0/status | jq '[.Peer[] | select(.CurAddr == "" and (.Relay != "" and .Active or (.PeerRelay // "") != ""))] | length')
rc=$(chk --max-relayed "$relayed")
[ "$rc" = 0 ] && grep -q "'peers_relayed'=$relayed;$relayed;;0" "$t/out" || fail "--max-relayed $relayed: $rc $(cat "$t/out")"
if [ "$relayed" -gt 0 ]; then
  rc=$(chk --max-relayed $((relayed - 1)))
  [ "$rc" = 1 ] && grep -q "$relayed peers relayed (more than $((relayed - 1)))" "$t/out" || fail "--max-relayed: $rc $(cat "$t/out")"
fi
rc=$(chk --max-relayed -1)
[ "$rc" = 3 ] || fail "--max-relayed -1: $rc"

# --require-exit-node-online: CRITICAL without an exit node, or with an offline one.
rc=$(chk --require-exit-node-online)
[ "$rc" = 2 ] && grep -q 'no exit node in use' "$t/out" || fail "no exit node: $rc $(cat "$t/out")"
exit_peer=$(lapi /localapi/v0/status | jq -r '[.Peer[] | select(.Online)][0].HostName')
exit_ip=$(lapi /localapi/v0/status | jq -r --arg n "$exit_peer" '.Peer[] | select(.HostName == $n) | .TailscaleIPs[0]')
fake_ctl /action -H 'Content-Type: application/json' -d "{\"peer\": {\"name\": \"$exit_peer\", \"ExitNodeOption\": true}}" >/dev/null
lapi /localapi/v0/prefs -X PATCH -d "{\"ExitNodeIP\": \"$exit_ip\", \"ExitNodeIPSet\": true}" >/dev/null
rc=$(chk --require-exit-node-online)
[ "$rc" = 0 ] || fail "exit node online: $rc $(cat "$t/out")"
fake_ctl "/peer?name=$exit_peer&online=false" >/dev/null
rc=$(chk --require-exit-node-online)
[ "$rc" = 2 ] && grep -q "exit node $exit_peer offline" "$t/out" || fail "exit node offline: $rc $(cat "$t/out")"
fake_ctl "/peer?name=$exit_peer&online=true" >/dev/null
lapi /localapi/v0/prefs -X PATCH -d '{"ExitNodeID": "", "ExitNodeIDSet": true, "ExitNodeIP": "", "ExitNodeIPSet": true}' >/dev/null

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
