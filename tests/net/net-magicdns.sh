#!/usr/bin/env bash
# MagicDNS across a real WireGuard tunnel: scripts/tailbox-proxy (embedded default config) runs in
# the node namespace against the stand-in daemon, which reports the very peer that wireguard-go
# reaches. Through the proxy (SOCKS5 with remote names, and HTTP), the peer's FQDN, its short name and its tailnet IPs reach the HTTP
# server in the peer namespace; the server sees the node's tailnet address, the connection goes to
# the tailscale endpoint, and the node's WireGuard counters grow by at least the bytes relayed.
# Nothing resolves these names but the plan: the namespace has no DNS and no hosts entry for them.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

tailnet_up
start_daemon
start_proxy   # no -c: sb-route's embedded default (tailnet → ts-ep, the rest direct) on 127.0.0.1:1080
timeout 10 ip netns exec "$NS_NODE" getent hosts "peer.$SUFFIX" >/dev/null && fail "the node namespace itself resolves peer.$SUFFIX"

tunnel_get() {  # URL ALLOWED_SOURCES_REGEX [PROXY_SCHEME]: through the proxy, across the tunnel
  local url=$1 want=$2 scheme=${3:-socks5h} before after rx0 tx0 rx1 tx1 nreq
  before=$(wg_bytes)
  nreq=$(srv_requests peer | wc -l)
  get "$url" 1080 "$scheme" || fail "$url through the proxy: $(cat "$t/curl.err"); proxy: $(tail -5 "$PROXY_ERR")"
  [[ $BODY =~ ^peer\ saw\ ($want)$ ]] || fail "$url: body '$BODY', want the peer seeing $want"
  [ "$(conn_field .outbound)" = ts-ep ] || fail "$url: not through the tailscale endpoint: $CONN"
  [ "$(conn_field .error)" = null ] || fail "$url: conn error: $CONN"
  [[ $(conn_field .destination.ip) =~ ^($PEER4|$PEER6)$ ]] || fail "$url: dialled $(conn_field .destination.ip): $CONN"
  # The server logged it with the node's tailnet source, and the tunnel carried it.
  [ "$(srv_requests peer | wc -l)" -gt "$nreq" ] || fail "$url: the peer's server logged nothing"
  [[ $(srv_requests peer | tail -1 | jq -r .client) =~ ^($want)$ ]] || fail "$url: server log $(srv_requests peer | tail -1)"
  after=$(wg_bytes)
  read -r rx0 tx0 <<<"$before"
  read -r rx1 tx1 <<<"$after"
  local up down
  up=$(conn_field .bytes_up) down=$(conn_field .bytes_down)
  [ $((tx1 - tx0)) -ge "$up" ] && [ $((rx1 - rx0)) -ge "$down" ] ||
    fail "$url: WireGuard counters rx $rx0→$rx1 tx $tx0→$tx1 did not grow by the relayed $down/$up bytes"
  [ $((rx1 - rx0)) -gt 0 ] && [ $((tx1 - tx0)) -gt 0 ] || fail "$url: WireGuard counters did not move"
  echo "ok $url ($scheme): $BODY (wg rx +$((rx1 - rx0)) tx +$((tx1 - tx0)), relayed down $down up $up)"
}

tunnel_get "http://peer.$SUFFIX:8080/" "$NODE4|$NODE6"
tunnel_get "http://PEER.$SUFFIX.:8080/" "$NODE4|$NODE6"   # case and the trailing dot do not matter
tunnel_get "http://peer:8080/" "$NODE4|$NODE6"            # the short name
tunnel_get "http://peer.$SUFFIX:8080/" "$NODE4|$NODE6" http  # the mixed inbound's HTTP side
tunnel_get "http://$PEER4:8080/" "$NODE4"
tunnel_get "http://[$PEER6]:8080/" "$NODE6"
[ "$(conn_field .destination.host)" = "$PEER6" ] || fail "destination host: $CONN"

# A name under the suffix that the tailnet does not have is not found (asked of 100.100.100.100,
# which answers nothing here), and is not leaked to the direct outbound.
! get "http://nosuch.$SUFFIX:8080/" || fail "nosuch.$SUFFIX resolved: $BODY"
[ "$(conn_field .outbound)" = ts-ep ] || fail "nosuch.$SUFFIX: $CONN"
[ "$(conn_field .error)" != null ] || fail "nosuch.$SUFFIX: no error in $CONN"
echo ok
