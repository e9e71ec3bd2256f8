#!/usr/bin/env bash
# The whole pipeline (scripts/tailbox-proxy: ts-status watch | sb-route plan | sb-relay) in the
# node's namespace against its real tailscaled, with curl through 127.0.0.1:1080:
#   - peer.<suffix>:8080, peer:8080 and the peer's 100.x and fd7a:: addresses all answer "peer";
#   - a name added with `lab admin dns-record` resolves through the real daemon's resolver;
#   - 10.77.0.10:8080 answers "subnet" once control approved the route (the config accepts routes);
#   - with the exit node in use, a direct outbound with routing_mark 0x80000 reaches 198.18.0.10 by
#     the node's own wan0, while a plain direct outbound reaches it through the exit node: the
#     server's answer shows which (198.18.1.2 is wan0, 198.19.0.1 the exit node's way out).
. "$(dirname "$0")/lib.sh"
tool sb-route >/dev/null
tool sb-relay >/dev/null

mark_config 3s ', "accept_routes": true' >"$t/config.json"

lab_up
node_login --accept-routes
start_proxy -c "$t/config.json"

peer_by_every_name

# A DNS record added by control: sb-relay asks the real daemon's resolver (100.100.100.100).
lab admin dns-record "db.$SUFFIX" "$PEER4" >/dev/null
wait_for 10 sh -c 'ip netns exec "$0" getent hosts "$1" | grep -q .' "$NODE_NS" "db.$SUFFIX"
get_ts "http://db.$SUFFIX:8080/" "$PEER_SAW"
echo "ok: db.$SUFFIX resolved through tailscaled's resolver"

# The subnet route, once approved.
lab admin set-routes exit 10.77.0.0/24 0.0.0.0/0 ::/0 >/dev/null
get_ts "http://10.77.0.10:8080/" "^subnet saw "
echo "ok: the approved subnet route answers: $BODY"

# Before the exit node: both outbounds leave by wan0.
get "http://198.18.0.10/" 1080 || fail "plain, no exit node: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.18.1.2" ] || fail "plain, no exit node: '$BODY' $CONN"
# The exit node, chosen with the real CLI.
ts node set --exit-node=exit || fail "tailscale set --exit-node=exit failed"
wait_for 10 sh -c 'ip netns exec "$0" ip route show table 52 | grep -q "^default dev tailscale0"' "$NODE_NS"
get "http://198.18.0.10/" 1081 || fail "marked, exit node in use: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.18.1.2" ] || fail "routing_mark 0x80000 did not keep the connection off the exit node: '$BODY' $CONN"
[ "$(conn_field .outbound)" = protected ] || fail "marked: $CONN"
get "http://198.18.0.10/" 1080 || fail "plain, exit node in use: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.19.0.1" ] || fail "a plain direct connection did not leave by the exit node: '$BODY' $CONN"
[ "$(conn_field .outbound)" = direct ] || fail "plain: $CONN"
echo "ok: with the exit node, marked → wan0 (inet saw 198.18.1.2), plain → exit node (inet saw 198.19.0.1)"
stop_proxy
