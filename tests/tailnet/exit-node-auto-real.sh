#!/usr/bin/env bash
# ts-auth set --exit-node auto:any against the real tailscaled: the daemon picks the exit node and
# fails over. The lab has one exit node, so the test makes a second one: peer advertises an exit
# node (control approves 0/0 and ::/0) and gets its own way to the inet server (a veth pr0 ↔ inet1,
# 198.20.0.0/30), so the server's answer says which exit node a connection left by: 198.19.0.1 is
# exit, 198.20.0.1 is peer, 198.18.1.2 the node's own wan0. Both have the suggest-exit-node
# capability (lab admin cap), without which tailscaled suggests nothing.
#   - ts-status exit-nodes --json lists both, with the daemon's suggestion and auto "any";
#   - marking the current one offline (lab admin online X false) moves the node's exit node to the
#     other: the status record's exit_node, exit-nodes' "current", and the inet server's answer;
#   - ts-auth set --exit-node none clears it (and the automatic choice); by name picks one;
#   - the pipeline's records: sb-route's plan carries the exit node; sb-relay's conn record names
#     the exit node a plain direct connection left by (and follows the failover), and none for one
#     with tailscale's bypass mark 0x80000 or after --exit-node none;
#   - exit_node "auto:any" in a sing-box endpoint (ts-auth up -c) sets the same preference.
. "$(dirname "$0")/lib.sh"
ST=$(tool ts-status)
AU=$(tool ts-auth)
SR=$(tool sb-route)
tool sb-relay >/dev/null
mark_config 3s >"$t/proxy.json"

lab_up
node_login
INET_NS=${NODE_NS%-node}-inet

# peer: a second exit node, with its own link to the inet server.
ts peer set --advertise-exit-node || fail "peer: tailscale set --advertise-exit-node failed"
lab admin set-routes peer 0.0.0.0/0 ::/0 >/dev/null
ip -n "$PEER_NS" link add inet1 type veth peer name pr0 netns "$INET_NS"
ip -n "$PEER_NS" addr add 198.20.0.1/30 dev inet1
ip -n "$INET_NS" addr add 198.20.0.2/30 dev pr0
ip -n "$PEER_NS" link set inet1 up
ip -n "$INET_NS" link set pr0 up
ip -n "$PEER_NS" route add default via 198.20.0.2
ip netns exec "$PEER_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
lab admin cap exit suggest-exit-node >/dev/null
lab admin cap peer suggest-exit-node >/dev/null

exits() { "$ST" --socket "$NODE_SOCK" exit-nodes --json; }
two_options() { exits | jq -e '[.nodes[] | select(.online)] | length == 2' >/dev/null; }
wait_for 20 two_options

# The automatic choice.
out=$("$AU" --socket "$NODE_SOCK" set --exit-node auto:any --json) || fail "ts-auth set --exit-node auto:any exited $?"
jq -e '.type == "set" and .changed and .exit_node.mode == "auto" and .exit_node.auto == "any"' <<<"$out" >/dev/null ||
  fail "set record: $out"
prefs=$(lab_lapi node /localapi/v0/prefs)
[ "$(jq -r .AutoExitNode <<<"$prefs")" = any ] || fail "the daemon's AutoExitNode: $(jq -c '{AutoExitNode, ExitNodeID}' <<<"$prefs")"

current() { "$ST" --socket "$NODE_SOCK" --json | jq -r '.exit_node | if . == null then "" else .name end'; }
chosen() { [ -n "$(current)" ]; }
wait_for 20 chosen
first=$(current)
case $first in exit) first_saw=198.19.0.1 other=peer other_saw=198.20.0.1 ;;
  peer) first_saw=198.20.0.1 other=exit other_saw=198.19.0.1 ;;
  *) fail "tailscaled chose neither exit node: '$first'" ;; esac
rec=$(exits)
jq -e --arg n "$first" '.auto == "any" and .current.name == $n and ([.nodes[] | select(.current)] | map(.name)) == [$n]' <<<"$rec" >/dev/null ||
  fail "exit-nodes record with $first chosen: $rec"
jq -e '.suggested != null and .suggestion_error == null' <<<"$rec" >/dev/null || fail "no suggestion: $rec"

inet_saw() { in_node curl -sS --max-time 3 http://198.18.0.10/ 2>>"$t/curl.err"; }
left_by() { [ "$(inet_saw)" = "inet saw $1" ]; }
wait_for 15 left_by "$first_saw"
echo "ok: auto:any chose $first; traffic leaves by it (inet saw $first_saw)"

# The pipeline's records: the plan carries the exit node; sb-relay's conn record names it for a
# plain direct connection, and not for one with tailscale's bypass mark (it leaves by wan0).
plan=$("$ST" --socket "$NODE_SOCK" --json | "$SR" plan -c "$t/proxy.json") || fail "sb-route plan exited $?"
jq -e --arg n "$first" '.tailnet.exit_node.name == $n and .tailnet.exit_node.online' <<<"$plan" >/dev/null ||
  fail "plan's exit node: $(jq -c .tailnet.exit_node <<<"$plan")"
start_proxy -c "$t/proxy.json"
proxy_left_by() {  # EXIT_NAME SAW
  get "http://198.18.0.10/" 1080 && [ "$BODY" = "inet saw $2" ] && [ "$(conn_field .exit_node.name)" = "$1" ]
}
wait_for 15 proxy_left_by "$first" "$first_saw"
PLAIN=$CONN
get "http://198.18.0.10/" 1081 || fail "marked: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.18.1.2" ] && [ "$(conn_field .exit_node)" = null ] || fail "marked: '$BODY' $CONN"
echo "ok: conn record: exit_node $(jq -c .exit_node <<<"$PLAIN") for the plain connection, null for the marked one"

# The chosen exit node goes offline: tailscaled moves to the other one.
lab admin online "$first" false >/dev/null
moved() { [ "$(current)" = "$other" ]; }
wait_for 30 moved
rec=$(exits)
jq -e --arg f "$first" --arg o "$other" '.current.name == $o and ([.nodes[] | select(.name == $f)][0].online == false)' <<<"$rec" >/dev/null ||
  fail "after $first went offline: $rec"
wait_for 15 left_by "$other_saw"
wait_for 15 proxy_left_by "$other" "$other_saw"
echo "ok: $first offline → tailscaled moved to $other (inet saw $other_saw); records: $(jq -c '{current, auto}' <<<"$rec")"

# none: no exit node, no automatic choice; the node's own way out again.
lab admin online "$first" true >/dev/null
out=$("$AU" --socket "$NODE_SOCK" set --exit-node none --json) || fail "set --exit-node none exited $?"
jq -e '.exit_node.mode == "none" and .exit_node.auto == null' <<<"$out" >/dev/null || fail "none: $out"
[ "$(lab_lapi node /localapi/v0/prefs | jq -r '.AutoExitNode // ""')" = "" ] || fail "AutoExitNode still set after none"
wait_for 15 left_by 198.18.1.2
no_exit() { get "http://198.18.0.10/" 1080 && [ "$BODY" = "inet saw 198.18.1.2" ] && [ "$(conn_field .exit_node)" = null ]; }
wait_for 15 no_exit
stop_proxy
# By name, and again: the second time nothing changes.
"$AU" --socket "$NODE_SOCK" set --exit-node "$other" >/dev/null || fail "set --exit-node $other exited $?"
out=$("$AU" --socket "$NODE_SOCK" set --exit-node "$other" --json) || fail "set again exited $?"
jq -e --arg o "$other" '.changed == false and .exit_node.mode == "node" and .exit_node.name == $o' <<<"$out" >/dev/null ||
  fail "by name, again: $out"
wait_for 15 left_by "$other_saw"
echo "ok: none → wan0; by name → $other, idempotent"

# exit_node "auto:any" in a sing-box endpoint (ts-auth up -c): the same AutoExitNode pref.
cat >"$t/config.json" <<JSON
{"endpoints": [{"type": "tailscale", "tag": "ts-ep", "control_url": "$CONTROL_URL", "exit_node": "auto:any"}]}
JSON
"$AU" --socket "$NODE_SOCK" up -c "$t/config.json" --timeout 20s >/dev/null 2>"$t/err" || fail "ts-auth up -c with auto:any: $(cat "$t/err")"
prefs=$(lab_lapi node /localapi/v0/prefs)
[ "$(jq -r .AutoExitNode <<<"$prefs")" = any ] || fail "up -c: AutoExitNode $(jq -c '{AutoExitNode, ExitNodeID}' <<<"$prefs")"
wait_for 20 chosen
"$ST" --socket "$NODE_SOCK" exit-nodes --json | jq -e '.auto == "any" and .current != null' >/dev/null || fail "up -c: no automatic exit node"
echo "ok: exit_node \"auto:any\" in the endpoint config: AutoExitNode=any, tailscaled chose $(current)"
