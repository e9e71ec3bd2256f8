#!/usr/bin/env bash
# Split DNS through the tailscale DNS server (docs/singbox.md, "DNS"): two split-DNS routes are set
# on the lab's control server (lab admin dns-route), corp.test → resolver A and deep.corp.test →
# resolver B, both DNS responders (tests/cli/dns-responder.py) on the peer's tailnet address that
# answer with that address. The node's real tailscaled hands the routes to ts-status (GET
# /localapi/v0/dns-config: magic_dns.dns_routes and dns_route_resolvers), sb-route plan passes
# them on, and sb-relay's tailscale server sends each name to the resolver of its longest matching
# suffix (TCP through the tailscale endpoint): the peer then answers (the route suffixes are in the
# "tailscale" rule-set, so through ts-ep),
# and the responders' logs say which one was asked. A name under no route is NXDOMAIN, without
# accept_default_resolvers.
. "$(dirname "$0")/lib.sh"
tool sb-route >/dev/null
tool sb-relay >/dev/null

cat >"$t/config.json" <<'JSON'
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
  "inbounds": [{"type": "mixed", "tag": "plain-in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "direct", "connect_timeout": "3s"}],
  "dns": {"servers": [{"type": "tailscale", "tag": "ts", "endpoint": "ts-ep"}, {"type": "local", "tag": "local"}]},
  "route": {"rules": [{"rule_set": "tailscale", "outbound": "ts-ep"}], "final": "direct",
            "default_domain_resolver": "ts"}
}
JSON

lab_up
node_login

responder() {  # NAME: a responder in the peer's namespace on its tailnet IPv4; sets <NAME>_PORT
  ip netns exec "$PEER_NS" python3 -u "$TB_SRC/tests/cli/dns-responder.py" --marker "$PEER4" --listen "$PEER4" \
    >"$t/$1.log" 2>"$t/$1.err" &
  track_pid $!
  wait_for 10 grep -q '^ready' "$t/$1.log"
  eval "${1}_PORT=$(sed -n 's/.*tcp=\([0-9]*\).*/\1/p' "$t/$1.log" | head -1)"
}
responder A
responder B
lab admin dns-route corp.test "$PEER4:$A_PORT" >/dev/null
lab admin dns-route deep.corp.test "$PEER4:$B_PORT" >/dev/null
wait_for 20 sh -c 'curl -sS --unix-socket "$0" -H "Host: local-tailscaled.sock" http://local-tailscaled.sock/localapi/v0/dns-config |
  jq -e ".Routes[\"deep.corp.test.\"][0].Addr" >/dev/null' "$NODE_SOCK"

start_proxy -c "$t/config.json"
# The plan has the routes once ts-status read them: until then the names are NXDOMAIN.
get_split() {  # URL: the peer answers, the name resolved by the ts server to its address
  local url=$1 end=$((SECONDS + 15))
  while :; do
    if get "$url" && [[ $BODY =~ $PEER_SAW ]] && [ "$(conn_field .dns_server)" = ts ] &&
      [ "$(conn_field .destination.ip)" = "$PEER4" ]; then return 0; fi
    [ "$SECONDS" -lt "$end" ] || fail "$url: not resolved by the split-DNS route within 15 s: body '$BODY' $CONN"
    sleep 0.25
  done
}
get_split "http://host.corp.test:8080/"
grep -q '^tcp host.corp.test 1$' "$t/A.log" || fail "corp.test's resolver was not asked: $(cat "$t/A.log")"
echo "ok: host.corp.test resolved by corp.test's resolver through the tailscale DNS server"
get_split "http://x.deep.corp.test:8080/"
grep -q '^tcp x.deep.corp.test 1$' "$t/B.log" || fail "the longest suffix's resolver was not asked: A: $(cat "$t/A.log") B: $(cat "$t/B.log")"
grep -q 'x.deep.corp.test' "$t/A.log" && fail "the shorter suffix's resolver was asked for x.deep.corp.test: $(cat "$t/A.log")"
echo "ok: x.deep.corp.test went to deep.corp.test's resolver (the longest suffix)"
# Under no route, and no accept_default_resolvers: NXDOMAIN, no fallback to another resolver.
get "http://nowhere.example:8080/" || true
if [ -n "$BODY" ] || [ "$(conn_field .dns_server)" != ts ] || [[ $(conn_field .error) != *NXDOMAIN* ]]; then
  fail "nowhere.example should be NXDOMAIN from the ts server: body '$BODY' $CONN"
fi
echo "ok: a name under no split-DNS route is NXDOMAIN"
stop_proxy
