#!/usr/bin/env bash
# ts-status exit-nodes and ts-auth set --exit-node against the fake:
#   - every exit-node option with IPs, online, location (where the peer has one), current and the
#     daemon's suggestion; --probe adds latency and path; --json is one v1 exit_nodes record;
#   - ts-auth set: check-prefs, then a PATCH of the masked prefs only (no WantRunning); auto:any sets
#     AutoExitNode and the daemon's choice follows its suggestion when the exit node goes offline;
#     none clears both; a second identical set changes nothing;
#   - errors: a daemon older than 1.86 refuses auto:any by version (65, nothing sent), an unknown or
#     non-exit node is 65, nothing to set is 2, not running is 1 for exit-nodes, 69/77 as usual;
#   - a suggestion the daemon cannot make is in the record (suggestion_error), not a failure.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
au=$(tool ts-auth)
start_fake --generate-peers 3
fake_ctl /action -d '{"peer":{"name":"peer1","ExitNodeOption":true,"Location":{"Country":"Poland","CountryCode":"PL","City":"Warsaw","CityCode":"WAW","Priority":10}}}' >/dev/null
fake_ctl /action -d '{"peer":{"name":"peer2","ExitNodeOption":true}}' >/dev/null

rec=$("$ts" --socket "$FAKE_SOCK" exit-nodes --json) || fail "exit-nodes --json exited $?"
jq -e '.v == 1 and .type == "exit_nodes" and .state == "running" and .current == null and .auto == null
       and (.nodes | map(.name)) == ["peer1", "peer2"] and .suggestion_error == null
       and ([.nodes[] | select(.suggested) | .name] == [.suggested.name])
       and .nodes[0].location == {"country": "Poland", "country_code": "PL", "city": "Warsaw", "city_code": "WAW", "priority": 10}
       and .nodes[1].location == null and (.nodes[0].ips | length) == 2 and (.nodes[0] | has("latency_seconds") | not)' \
  <<<"$rec" >/dev/null || fail "exit_nodes record: $rec"
first=$(jq -r .suggested.name <<<"$rec")
case $first in peer1) other=peer2 ;; peer2) other=peer1 ;; *) fail "suggestion: $first" ;; esac
txt=$("$ts" --socket "$FAKE_SOCK" exit-nodes --probe) || fail "exit-nodes --probe exited $?"
grep -Eq '^peer1 +100\.64\.0\.2 +Warsaw, Poland +(suggested|-) +[0-9.]+ms +relay \(DERP [a-z]+\)$' <<<"$txt" || fail "table: $txt"
grep -Eq "^# suggested by tailscaled: $first\$" <<<"$txt" || fail "table's suggestion: $txt"
rec=$("$ts" --socket "$FAKE_SOCK" exit-nodes --json --probe) || fail "--json --probe exited $?"
jq -e 'all(.nodes[]; .path == "relay" and .latency_seconds > 0 and .error == null)' <<<"$rec" >/dev/null || fail "probed: $rec"

# ts-auth set --exit-node auto:any: check-prefs then PATCH, nothing else.
: >"$FAKE_LOG"
out=$("$au" --socket "$FAKE_SOCK" set --exit-node auto:any --json) || fail "set auto:any exited $?"
jq -e '.type == "set" and .changed and .changes == ["exit_node"] and .exit_node.mode == "auto" and .exit_node.name == $f' \
  --arg f "$first" <<<"$out" >/dev/null || fail "set record: $out"
writes=$(jq -sc '[.[] | select(.method != "GET") | .path]' "$FAKE_LOG")
[ "$writes" = '["/localapi/v0/check-prefs","/localapi/v0/prefs"]' ] || fail "requests that change something: $writes"
patch=$(jq -sc '[.[] | select(.method == "PATCH")][0].body' "$FAKE_LOG")
jq -e '. == {"AutoExitNode": "any", "AutoExitNodeSet": true, "ExitNodeID": "", "ExitNodeIDSet": true, "ExitNodeIP": "", "ExitNodeIPSet": true}' \
  <<<"$patch" >/dev/null || fail "masked prefs: $patch"
rec=$("$ts" --socket "$FAKE_SOCK" exit-nodes --json)
jq -e --arg f "$first" '.auto == "any" and .current.name == $f' <<<"$rec" >/dev/null || fail "after auto:any: $rec"
# The chosen one goes offline: the daemon's choice follows its suggestion.
fake_ctl /action -d "{\"peer\":{\"name\":\"$first\",\"online\":false}}" >/dev/null
jq -e --arg o "$other" '.exit_node.name == $o' <<<"$("$ts" --socket "$FAKE_SOCK" --json)" >/dev/null || fail "no failover to $other"
"$ts" --socket "$FAKE_SOCK" exit-nodes | grep -Eq "^$first .* offline\$" || fail "$first not shown offline"
# Again: nothing to change, nothing sent.
: >"$FAKE_LOG"
out=$("$au" --socket "$FAKE_SOCK" set --exit-node auto:any) || fail "set again exited $?"
[ "$out" = "Nothing to change; exit node: auto:any (tailscaled chooses, now $other)" ] || fail "again: $out"
[ "$(jq -sc '[.[] | select(.method != "GET")] | length' "$FAKE_LOG")" = 0 ] || fail "a second set wrote something"
# By name, with LAN access; then none.
out=$("$au" --socket "$FAKE_SOCK" set --exit-node "$other" --allow-lan-access --json) || fail "by name exited $?"
jq -e --arg o "$other" '.exit_node == {"mode": "node", "auto": null, "id": .exit_node.id, "ip": null, "name": $o, "allow_lan_access": true}' \
  <<<"$out" >/dev/null || fail "by name: $out"
out=$("$au" --socket "$FAKE_SOCK" set --exit-node none) || fail "none exited $?"
[ "$out" = "Changed; exit node: none, local network allowed" ] || fail "none: $out"
jq -e '.ExitNodeID == "" and (.AutoExitNode // "") == "" and .WantRunning' <<<"$(lapi /localapi/v0/prefs)" >/dev/null ||
  fail "prefs after none: $(lapi /localapi/v0/prefs | jq -c '{ExitNodeID, AutoExitNode, WantRunning}')"

# Errors.
expect_exit 65 "$au" --socket "$FAKE_SOCK" set --exit-node peer3 2>"$t/err"
grep -q "node peer3 is not advertising an exit node" "$t/err" || fail "non-exit: $(cat "$t/err")"
expect_exit 65 "$au" --socket "$FAKE_SOCK" set --exit-node nosuch 2>/dev/null
expect_exit 2 "$au" --socket "$FAKE_SOCK" set 2>/dev/null
fake_ctl /action -d '{"permissions":"readonly"}' >/dev/null
expect_exit 77 "$au" --socket "$FAKE_SOCK" set --exit-node peer2 2>/dev/null
fake_ctl /action -d '{"permissions":"rw","state":"Stopped"}' >/dev/null
expect_exit 1 "$ts" --socket "$FAKE_SOCK" exit-nodes 2>/dev/null
stop_fake

# A daemon without AutoExitNode: refused by its version before anything is sent.
printf '{"generate_peers": 2, "version": "1.84.2-t0123456789-gabcdef012"}\n' >"$t/old.json"
start_fake --scenario "$t/old.json"
fake_ctl /action -d '{"peer":{"name":"peer1","ExitNodeOption":true}}' >/dev/null
expect_exit 65 "$au" --socket "$FAKE_SOCK" set --exit-node auto:any 2>"$t/err"
grep -q "tailscaled 1.84.2-t0123456789-gabcdef012 cannot choose the exit node itself (auto:any).*1.86.0 or later" "$t/err" ||
  fail "old daemon message: $(cat "$t/err")"
[ "$(jq -sc '[.[] | select(.method != "GET")] | length' "$FAKE_LOG")" = 0 ] || fail "something was sent to the old daemon"
# The fake answers no suggestion while not running: the record says why.
fake_ctl /action -d '{"state":"Starting"}' >/dev/null
fake_ctl /action -d '{"fault":{"kind":"500","path":"suggest-exit-node","body":"{\"error\":\"no preferred DERP, try again later\"}"}}' >/dev/null
rec=$("$ts" --socket "$FAKE_SOCK" exit-nodes --json) || fail "exit-nodes with a failing suggestion exited $?"
jq -e '.suggested == null and (.suggestion_error | test("no preferred DERP"))' <<<"$rec" >/dev/null || fail "suggestion_error: $rec"
stop_fake
expect_exit 69 "$ts" --socket "$FAKE_SOCK" exit-nodes 2>/dev/null
expect_exit 69 "$au" --socket "$FAKE_SOCK" set --exit-node none 2>/dev/null
echo ok
