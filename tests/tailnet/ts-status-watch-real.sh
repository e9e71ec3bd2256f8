#!/usr/bin/env bash
# ts-status watch against the real tailscaled: changes made through the control server appear
# within 5 s, each as an event and a new status record (a peer marked offline and back, routes
# approved, the node's key expired); and through a stop and start of the node's own daemon
# watch says the daemon went away and came back, and never exits.
. "$(dirname "$0")/lib.sh"
ST=$(tool ts-status)

lab_up
node_login --accept-routes
stream_open proc "$ST" --socket "$NODE_SOCK" watch </dev/null
stream_until '.type == "status" and .state == "running"' 10
jq -e '[.peers[] | select(.host_name == "peer" and .online)] | length == 1' <<<"$LINE" >/dev/null ||
  fail "first status record: peer is not online: $LINE"

# A peer marked offline by control, then online again: an event, then a status record saying so.
lab admin online peer false >/dev/null
stream_until '.type == "event" and .event == "peer_offline" and .peer == "peer"' 5
stream_until '.type == "status" and ([.peers[] | select(.host_name == "peer")][0].online == false)' 5
lab admin online peer true >/dev/null
stream_until '.type == "event" and .event == "peer_online" and .peer == "peer"' 5
stream_until '.type == "status" and ([.peers[] | select(.host_name == "peer")][0].online == true)' 5

# Routes approved by control: a new status record where exit serves the subnet.
lab admin set-routes exit 10.77.0.0/24 0.0.0.0/0 ::/0 >/dev/null
stream_until '.type == "status" and ([.peers[] | select(.host_name == "exit")][0].primary_routes | index("10.77.0.0/24"))' 5

# The node's own daemon stops and starts: watch reports it and carries on.
lab stop node
stream_until '.type == "event" and .event == "daemon" and .reachable == false' 10
stream_until '.type == "status" and .state == "daemon_unreachable"' 10
lab start node
stream_until '.type == "event" and .event == "daemon" and .reachable == true' 15
stream_until '.type == "status" and .state == "running"' 20
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited across the daemon's restart: $(cat "$STREAM_ERR")"

# Control expires every key: the node is told its key expired.
lab admin expire-keys >/dev/null
stream_until '.type == "event" and (.event == "key_expiring" or (.event == "state" and .to == "needs_login"))' 5
stream_until '.type == "status" and (.state == "needs_login" or .self.key_expired == true)' 5
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited: $(cat "$STREAM_ERR")"
echo "ok: watch followed control's changes and the daemon's restart"
