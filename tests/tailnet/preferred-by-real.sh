#!/usr/bin/env bash
# preferred_by against the real tailscaled: a rule `{"preferred_by": "ts-ep", "outbound": "ts-ep"}`
# with route.final direct. Control approving the exit node's subnet route 10.77.0.0/24 puts it in
# the peer's AllowedIPs, and 10.77.0.10 flips from direct to ts-ep; withdrawing it flips it back.
# Seen three ways: the plans of `ts-status watch | sb-route plan` (tailnet.preferred.ip_cidr),
# `ts-status --json | sb-route decide`, and connections through the whole pipeline (sb-relay).
. "$(dirname "$0")/lib.sh"
sb=$(tool sb-route)
st=$(tool ts-status)

cat >"$t/config.json" <<'JSON'
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep", "accept_routes": true}],
  "inbounds": [{"type": "mixed", "tag": "plain-in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "direct", "connect_timeout": "1s"}],
  "route": {"rules": [{"preferred_by": "ts-ep", "outbound": "ts-ep"}], "final": "direct"}
}
JSON
"$sb" check -c "$t/config.json" >/dev/null || fail "the preferred_by config does not pass check"

lab_up
node_login --accept-routes
start_proxy -c "$t/config.json"

# The plans, from the same pipeline's first two stages outside the proxy (through a FIFO, so that
# both are tracked and stopped).
mkfifo "$t/status.fifo"
"$st" --socket "$NODE_SOCK" watch >"$t/status.fifo" 2>"$t/watch.err" &
track_pid $!
"$sb" plan -c "$t/config.json" <"$t/status.fifo" >"$t/plans" 2>"$t/plan.err" &
track_pid $!

within() {  # SECS CMD...: CMD succeeds within SECS seconds
  local end=$((SECONDS + $1))
  shift
  until "$@" 2>/dev/null; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

preferred() {  # the newest plan's preferred prefixes mention 10.77.0.0/24: yes or no
  tail -1 "$t/plans" 2>/dev/null | jq -r 'if (.tailnet.preferred.ip_cidr // []) | index("10.77.0.0/24") then "yes" else "no" end'
}
plan_says() { [ "$(tail -1 "$t/plans" 2>/dev/null | jq -r .tailnet.state)" = running ] && [ "$(preferred)" = "$1" ]; }
decide_for() {  # DESTINATION: the outbound sb-route decide picks on a fresh status record
  { "$st" --socket "$NODE_SOCK" --json; printf '{"destination": "%s"}\n' "$1"; } |
    "$sb" decide -c "$t/config.json" | jq -r 'select(.type == "decision") | .outbound'
}
decide() { decide_for 10.77.0.10:8080; }
decides() { [ "$(decide)" = "$1" ]; }
relay_direct() {  # a connection to 10.77.0.10 through the proxy goes by the direct outbound
  get "http://10.77.0.10:8080/" || true
  [ "$(conn_field .outbound)" = direct ]
}

# Only the exit routes are approved: the peers' addresses are preferred, the subnet is not.
within 10 plan_says no || fail "first plan: $(tail -1 "$t/plans" | jq -c .tailnet.preferred)"
tail -1 "$t/plans" | jq -e --arg p "$PEER4/32" '.tailnet.preferred.ip_cidr | index($p)' >/dev/null ||
  fail "the peer's address is not preferred: $(tail -1 "$t/plans" | jq -c .tailnet.preferred.ip_cidr)"
tail -1 "$t/plans" | jq -e '.tailnet.preferred.ip_cidr | all(. != "0.0.0.0/0" and . != "::/0")' >/dev/null ||
  fail "an exit node's default route is preferred: $(tail -1 "$t/plans" | jq -c .tailnet.preferred.ip_cidr)"
decides direct || fail "before approval sb-route decide says $(decide)"
# The lab's control sends the MagicDNS suffix as the search domain (GET dns-config): the record
# carries it, and a single-label name is preferred, as sing-box's endpoint would have it.
"$st" --socket "$NODE_SOCK" --json | jq -e --arg s "$SUFFIX" '.magic_dns.search_domains == [$s] and .magic_dns.dns_routes == []' >/dev/null ||
  fail "magic_dns from the real daemon: $("$st" --socket "$NODE_SOCK" --json | jq -c .magic_dns)"
[ "$(decide_for printer:80)" = ts-ep ] || fail "a single label with the suffix as search domain: $(decide_for printer:80)"
relay_direct || fail "before approval the relay chose: $CONN"
echo "ok: before the route is approved, 10.77.0.10 goes direct"

lab admin set-routes exit 10.77.0.0/24 0.0.0.0/0 ::/0 >/dev/null
within 10 plan_says yes || fail "no plan with 10.77.0.0/24 preferred: $(tail -1 "$t/plans" | jq -c .tailnet.preferred.ip_cidr)"
within 10 decides ts-ep || fail "after approval sb-route decide says $(decide)"
get_ts "http://10.77.0.10:8080/" "^subnet saw "
echo "ok: approved, 10.77.0.10 is preferred by ts-ep ($BODY)"

lab admin set-routes exit 0.0.0.0/0 ::/0 >/dev/null
within 10 plan_says no || fail "the withdrawn route is still preferred: $(tail -1 "$t/plans" | jq -c .tailnet.preferred.ip_cidr)"
within 10 decides direct || fail "after withdrawal sb-route decide says $(decide)"
within 10 relay_direct || fail "after withdrawal the relay chose: $CONN"
echo "ok: withdrawn, 10.77.0.10 goes direct again"
stop_proxy
