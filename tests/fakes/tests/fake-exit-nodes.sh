#!/usr/bin/env bash
# The fake's exit-node choice, as tailscaled 1.102 answers (docs/localapi.md, "Ping and exit-node
# suggestions"): suggest-exit-node (GET or POST; empty without candidates; 500 without a netmap),
# a PATCH with AutoExitNodeSet puts AutoExitNode after ExitNodeIP in Go's order and ExitNodeID on
# the suggestion, which follows a peer going offline ("auto:any" when none is left); a PATCH of
# ExitNodeID alone ends it; a daemon before 1.86 ignores the field.
. "$(dirname "$0")/lib.sh"
start_fake --generate-peers 3
[ "$(lapi /localapi/v0/suggest-exit-node)" = '{"ID":"","Name":""}' ] || fail "no candidates: $(lapi /localapi/v0/suggest-exit-node)"
fake_ctl /action -d '{"peer":{"name":"peer1","ExitNodeOption":true}}' >/dev/null
fake_ctl /action -d '{"peer":{"name":"peer2","ExitNodeOption":true}}' >/dev/null
s=$(lapi /localapi/v0/suggest-exit-node -X POST)
first=$(jq -r .ID <<<"$s")
[ -n "$first" ] && jq -e '.Name | endswith(".")' <<<"$s" >/dev/null || fail "suggestion: $s"
[ "$(lapi /localapi/v0/suggest-exit-node | jq -r .ID)" = "$first" ] || fail "the suggestion is not kept"
p=$(lapi /localapi/v0/prefs -X PATCH -d '{"AutoExitNode":"any","AutoExitNodeSet":true,"ExitNodeID":"","ExitNodeIDSet":true,"ExitNodeIP":"","ExitNodeIPSet":true}')
jq -e --arg f "$first" '.AutoExitNode == "any" and .ExitNodeID == $f' <<<"$p" >/dev/null || fail "PATCH auto: $p"
[ "$(jq -c '[keys_unsorted[] | select(startswith("ExitNode") or . == "AutoExitNode")]' <<<"$p")" = \
  '["ExitNodeID","ExitNodeIP","AutoExitNode","ExitNodeAllowLANAccess"]' ] || fail "key order: $(jq -c 'keys_unsorted' <<<"$p")"
name=$(lapi /localapi/v0/status | jq -r --arg f "$first" '.Peer[] | select(.ID == $f) | .HostName')
fake_ctl /action -d "{\"peer\":{\"name\":\"$name\",\"online\":false}}" >/dev/null
second=$(lapi /localapi/v0/prefs | jq -r .ExitNodeID)
[ "$second" != "$first" ] && [ -n "$second" ] || fail "no failover: $second"
jq -e --arg s "$second" '.ExitNodeStatus.ID == $s' <<<"$(lapi /localapi/v0/status)" >/dev/null || fail "ExitNodeStatus"
fake_ctl /action -d '{"peer":{"name":"peer1","online":false}}' >/dev/null
fake_ctl /action -d '{"peer":{"name":"peer2","online":false}}' >/dev/null
[ "$(lapi /localapi/v0/prefs | jq -r .ExitNodeID)" = "auto:any" ] || fail "no candidate left: $(lapi /localapi/v0/prefs | jq -c .ExitNodeID)"
p=$(lapi /localapi/v0/prefs -X PATCH -d '{"ExitNodeID":"","ExitNodeIDSet":true,"ExitNodeIP":"","ExitNodeIPSet":true}')
jq -e 'has("AutoExitNode") | not' <<<"$p" >/dev/null || fail "ExitNodeIDSet alone did not end the automatic choice: $p"
fake_ctl /action -d '{"state":"Stopped"}' >/dev/null
[ "$(lapi /localapi/v0/suggest-exit-node -w '%{http_code}' -o /dev/null)" = 500 ] || fail "suggest while stopped"
stop_fake
printf '{"generate_peers": 2, "version": "1.84.2"}\n' >"$t/old.json"
start_fake --scenario "$t/old.json"
p=$(lapi /localapi/v0/prefs -X PATCH -d '{"AutoExitNode":"any","AutoExitNodeSet":true}')
jq -e 'has("AutoExitNode") | not' <<<"$p" >/dev/null || fail "1.84 kept AutoExitNode: $p"
stop_fake
echo ok
