#!/usr/bin/env bash
# pipeline-real.sh with the node's tailscaled in userspace networking (`lab up --userspace`:
# --tun=userspace-networking --socks5-server=127.0.0.1:1055). The status says tun:false, so the
# tailscale endpoint has no kernel route to use and goes through tailscaled's SOCKS5 on
# 127.0.0.1:1055 (forced with --tailscale-transport socks5: without it, tailbox-proxy's --socket
# lets sb-relay take the Local API dial transport, which pipeline-dial-real.sh tests). Through
# 127.0.0.1:1080 in the node's namespace:
#   - there is no tailscale0 in the namespace, and while a connection to the peer is held open,
#     sb-relay holds an established connection to 127.0.0.1:1055 and tailscaled its other end;
#   - peer.<suffix>:8080, peer:8080 and the peer's 100.x and fd7a:: addresses answer "peer";
#   - a name added with `lab admin dns-record` is answered from the plan (ts-status carries
#     control's records, sb-route adds them to the MagicDNS table), since neither 100.100.100.100
#     (inside tailscaled's netstack) nor tailscaled's SOCKS5 resolves it (see below);
#   - 10.77.0.10:8080 answers "subnet" once control approved the route (the config accepts routes).
# Left out, as they do not apply here: the exit node and routing_mark. In userspace networking
# tailscaled installs no table 52 and no policy rules in the namespace, so an exit node changes
# only what goes through its SOCKS5, and a direct socket's mark has nothing to escape.
. "$(dirname "$0")/lib.sh"
tool sb-route >/dev/null
tool sb-relay >/dev/null

cat >"$t/config.json" <<'JSON'
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep", "accept_routes": true}],
  "inbounds": [{"type": "mixed", "tag": "plain-in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "direct", "connect_timeout": "3s"}],
  "route": {
    "rules": [{"rule_set": "tailscale", "outbound": "ts-ep"}],
    "final": "direct"
  }
}
JSON

lab_up --userspace
[ "$(jq -r .socks5 <<<"$LAB")" = 127.0.0.1:1055 ] || fail "the lab's node has no SOCKS5 server: $LAB"
node_login --accept-routes
in_node ip link show tailscale0 >/dev/null 2>&1 && fail "userspace networking, yet the node's namespace has a tailscale0"
start_proxy -c "$t/config.json" --tailscale-transport socks5

peer_by_every_name

# The proof that the tailscale endpoint goes through tailscaled's SOCKS5: a connection to the peer
# held open (SOCKS5 CONNECT through sb-relay, nothing sent), and the established pairs on :1055.
hold_start "peer.$SUFFIX" 8080
pairs=$(in_node ss -Htnp state established '( sport = :1055 or dport = :1055 )')
relay_side=$(grep -c '"sb-relay"' <<<"$pairs" || true)
daemon_side=$(grep -c '"tailscaled"' <<<"$pairs" || true)
[ "$relay_side" -ge 1 ] && [ "$daemon_side" -ge 1 ] ||
  fail "no established sb-relay → tailscaled connection on 127.0.0.1:1055 during a held request: $pairs"
hold_end
echo "ok: no tailscale0; a held request holds sb-relay → tailscaled's SOCKS5 (127.0.0.1:1055)"

# A DNS record added by control, not in the plan's MagicDNS table: sb-relay cannot ask
# 100.100.100.100 (it lives inside tailscaled's netstack; tailscaled's SOCKS5 reaches it neither by
# TCP nor by UDP ASSOCIATE), so it passes the name to tailscaled's SOCKS5 unresolved. Through
# sb-relay the name must fare exactly as through tailscaled's SOCKS5 directly. tailscaled v1.102.5
# resolves SOCKS5 names from its peers and from DNS.ExtraRecords with an empty Type only
# (ipnlocal nodeBackend.updateNodeByNameLocked), then from the system resolver; labcontrol's
# records say Type "A" (as headscale's do), so tailscaled's SOCKS5 alone fails on them.
lab admin dns-record "db.$SUFFIX" "$PEER4" >/dev/null
wait_for 10 sh -c '"$0" --socket="$1" dns query "$2" A 2>/dev/null | grep -q "$3"' "$TS" "$NODE_SOCK" "db.$SUFFIX" "$PEER4"
# sb-relay answers the name from the plan: ts-status carries control's records
# (magic_dns.extra_records), sb-route puts them in the MagicDNS table, and the connection goes to
# tailscaled's SOCKS5 by address. tailscaled's SOCKS5 alone cannot resolve it (see above): that
# is why the name must not be handed to it.
direct_rc=0
direct=$(in_node curl -sS --max-time 10 --proxy socks5h://127.0.0.1:1055 "http://db.$SUFFIX:8080/" 2>&1) || direct_rc=$?
get_ts "http://db.$SUFFIX:8080/" "$PEER_SAW"
echo "ok: db.$SUFFIX resolved from control's records in the plan (tailscaled's SOCKS5 alone: exit $direct_rc${direct:+, $direct})"

# The subnet route, once approved.
lab admin set-routes exit 10.77.0.0/24 0.0.0.0/0 ::/0 >/dev/null
get_ts "http://10.77.0.10:8080/" "^subnet saw "
echo "ok: the approved subnet route answers: $BODY"
stop_proxy
