#!/usr/bin/env bash
# 2000 generated peers: valid nodekeys, unique tailnet addresses, DNS names under the suffix, and
# a document jq parses (the benchmark scenario).
. "$(dirname "$0")/lib.sh"
start_fake --scenario "$TB_FIXTURES/scenarios/big-2000.json"
lapi /localapi/v0/status >"$t/big"
jq -e '(.Peer | length) == 2000' "$t/big" >/dev/null || fail "want 2000 peers, got $(jq '.Peer | length' "$t/big")"
jq -e '[.Peer | to_entries[] | (.key == .value.PublicKey) and (.key | test("^nodekey:[0-9a-f]{64}$"))] | all' "$t/big" >/dev/null || fail "bad keys"
jq -e '[.Peer[] | .TailscaleIPs[0] | test("^100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.")] | all' "$t/big" >/dev/null || fail "v4 outside 100.64/10"
jq -e '[.Peer[] | .TailscaleIPs[1] | startswith("fd7a:115c:a1e0:")] | all' "$t/big" >/dev/null || fail "v6 outside fd7a:115c:a1e0::/48"
jq -e '[.Peer[] | .TailscaleIPs[0]] | (unique | length) == 2000' "$t/big" >/dev/null || fail "duplicate addresses"
jq -e '[.Peer[] | .DNSName | endswith(".tailbig0.ts.net.")] | all' "$t/big" >/dev/null || fail "DNS names"
jq -e '[.Peer[] | .UserID | tostring] - (.User | keys) == []' "$t/big" >/dev/null || fail "peers reference unknown users"
jq -e '[.Peer[] | select(.Online == false)] | length > 0' "$t/big" >/dev/null || fail "no offline peers"
# The same peers over the bus with an initial NetMap (mask 8).
watch_open 8
stream_line 20
echo "$LINE" | jq -e '(.NetMap.Peers | length) == 2000' >/dev/null || fail "initial NetMap"
stop_fake
echo ok
