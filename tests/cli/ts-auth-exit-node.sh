#!/usr/bin/env bash
# --exit-node on a running node: a peer name resolves to its stable ID (one PATCH), the same name
# again changes nothing, '' clears, an unknown name or a peer that offers no exit node is 65.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
auth=$(tool ts-auth)
start_fake --scenario "$TB_FIXTURES/scenarios/exit-node-v1.102.json"
read -r name id ip < <(lapi /localapi/v0/status | jq -r '[.Peer[] | select(.ExitNodeOption)][0] | "\(.DNSName | split(".")[0]) \(.ID) \(.TailscaleIPs[0])"')
expect_exit 0 "$auth" --socket "$FAKE_SOCK" --json up --exit-node "" >"$t/o"
jq -e '.changed == true and .changes == ["exit_node"]' "$t/o" >/dev/null || fail "clear: $(cat "$t/o")"
lapi /localapi/v0/prefs | jq -e '.ExitNodeID == "" and .ExitNodeIP == ""' >/dev/null || fail "not cleared"
expect_exit 0 "$auth" --socket "$FAKE_SOCK" --json up --exit-node "${name^^}" >"$t/o"
jq -e '.changed == true' "$t/o" >/dev/null || fail "set by name: $(cat "$t/o")"
lapi /localapi/v0/prefs | jq -e --arg id "$id" '.ExitNodeID == $id' >/dev/null || fail "ExitNodeID not $id"
expect_exit 0 "$auth" --socket "$FAKE_SOCK" --json up --exit-node "$ip" >"$t/o"
jq -e '.changed == false' "$t/o" >/dev/null || fail "same node by IP: $(cat "$t/o")"
n=$(wc -l <"$FAKE_LOG")
expect_exit 65 "$auth" --socket "$FAKE_SOCK" up --exit-node nosuch 2>"$t/e"
grep -q "must be IP or unique node name" "$t/e" || fail "unknown: $(cat "$t/e")"
expect_exit 65 "$auth" --socket "$FAKE_SOCK" up --exit-node 100.101.1.1 2>"$t/e"
grep -q "local IP address" "$t/e" || fail "self: $(cat "$t/e")"
tail -n +"$((n + 1))" "$FAKE_LOG" | jq -s -e 'map(select(.method != "GET")) | length == 0' >/dev/null || fail "a refused exit node was written"
stop_fake
echo ok
