#!/usr/bin/env bash
# preferred_by with the fake daemon: `{"preferred_by": "ts-ep", "outbound": "ts-ep"}` and final
# direct. A peer's MagicDNS name and addresses are preferred; a subnet route becomes preferred when
# control puts it into the peer's AllowedIPs (the fake's PrimaryRoutes action does, as control does)
# and stops being when it is withdrawn: a new plan from `ts-status watch | sb-route plan` each time,
# and `sb-route decide` flips for 10.77.0.10. Tags that are not tailscale endpoints fail at load.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
sb=$(tool sb-route)
start_fake --generate-peers 3

cat >"$t/config.json" <<'JSON'
{
  "endpoints": [{"type": "tailscale", "tag": "ts-ep", "accept_routes": true}],
  "outbounds": [{"type": "direct", "tag": "direct"}],
  "route": {"rules": [{"preferred_by": "ts-ep", "outbound": "ts-ep"}], "final": "direct"}
}
JSON
"$sb" check -c "$t/config.json" >"$t/check" 2>&1 || fail "check: $(cat "$t/check")"

decide() {  # DESTINATION: the outbound for it on a fresh status record
  { "$ts" --socket "$FAKE_SOCK" --json; printf '{"destination": "%s"}\n' "$1"; } |
    "$sb" decide -c "$t/config.json" | jq -r 'select(.type == "decision") | .outbound'
}
peer1=$("$ts" --socket "$FAKE_SOCK" --json | jq -r '.peers[] | select(.name == "peer1")')
fqdn=$(jq -r .dns_name <<<"$peer1")
ip4=$(jq -r '.ips[0]' <<<"$peer1")
[ "$(decide "$fqdn:80")" = ts-ep ] || fail "$fqdn: $(decide "$fqdn:80")"
[ "$(decide "$ip4:80")" = ts-ep ] || fail "$ip4: $(decide "$ip4:80")"
[ "$(decide "other.${fqdn#*.}:80")" = ts-ep ] || fail "a name under the MagicDNS suffix (a DNS route)"
# The fake's control sends the MagicDNS suffix as search domain (as the lab's and Tailscale's do):
# every single-label name is preferred.
"$ts" --socket "$FAKE_SOCK" --json | jq -e --arg s "${fqdn#*.}" '.magic_dns.search_domains == [$s] and .magic_dns.dns_routes == []' >/dev/null ||
  fail "magic_dns of the record: $("$ts" --socket "$FAKE_SOCK" --json | jq -c .magic_dns)"
[ "$(decide "peer1:80")" = ts-ep ] || fail "a single label with search domains"
[ "$(decide "printer:80")" = ts-ep ] || fail "any single label with search domains"
[ "$(decide "www.example.com:443")" = direct ] || fail "www.example.com"
[ "$(decide "10.77.0.10:80")" = direct ] || fail "10.77.0.10 before the route"

stream_open plan bash -c '"$0" --socket "$1" watch --interval 60s | "$2" plan -c "$3"' "$ts" "$FAKE_SOCK" "$sb" "$t/config.json" </dev/null
stream_line
jq -e --arg a "$ip4/32" '.generation == 1 and (.tailnet.preferred.ip_cidr | index($a) != null)
  and (.tailnet.preferred.ip_cidr | index("10.77.0.0/24") == null)
  and (.tailnet.preferred.dns_routes | length) == 66' <<<"$LINE" >/dev/null ||
  fail "first plan: $(jq -c .tailnet.preferred <<<"$LINE")"
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"

# Approved: the route is in the record's allowed_ips, the plan's preferred prefixes, the decision.
fake_ctl /action -d '{"peer": {"name": "peer1", "PrimaryRoutes": ["10.77.0.0/24"]}}' >/dev/null
stream_until '.tailnet.preferred.ip_cidr | index("10.77.0.0/24") != null'
"$ts" --socket "$FAKE_SOCK" --json | jq -e '.peers[] | select(.name == "peer1") | .allowed_ips | index("10.77.0.0/24") != null' >/dev/null ||
  fail "allowed_ips of the record: $("$ts" --socket "$FAKE_SOCK" --json | jq -c '.peers[0].allowed_ips')"
[ "$(decide "10.77.0.10:80")" = ts-ep ] || fail "10.77.0.10 with the route approved: $(decide "10.77.0.10:80")"

# Withdrawn: a new plan without it, and 10.77.0.10 goes direct again.
fake_ctl /action -d '{"peer": {"name": "peer1", "PrimaryRoutes": []}}' >/dev/null
stream_until '.tailnet.preferred.ip_cidr | index("10.77.0.0/24") == null'
[ "$(decide "10.77.0.10:80")" = direct ] || fail "10.77.0.10 after withdrawal: $(decide "10.77.0.10:80")"
stream_stop
pgrep -f -- "--socket $FAKE_SOCK watch" >/dev/null && fail "the pipeline's ts-status watch outlived it"

# Control's split-DNS routes and search domains (GET dns-config): a route with its subdomains, a
# search domain exactly; without search domains a single label is not preferred.
fake_ctl /action -d '{"dns_config": {"Routes": {"corp.example": [{"Addr": "10.0.0.53"}]}, "Domains": ["search.example"], "Proxied": true}}' >/dev/null
[ "$(decide "git.corp.example:443")" = ts-ep ] || fail "a name under a split-DNS route"
[ "$(decide "search.example:443")" = ts-ep ] || fail "a search domain"
[ "$(decide "www.search.example:443")" = direct ] || fail "a search domain is exact"
fake_ctl /action -d '{"dns_config": {"Proxied": true}}' >/dev/null
[ "$(decide "printer:80")" = direct ] || fail "a single label without search domains"
[ "$(decide "git.corp.example:443")" = direct ] || fail "a withdrawn split-DNS route"

# Tags: unknown, not an endpoint (both start errors in sing-box: sing-box check accepts them, so
# sb-route check warns, and plan and decide refuse them), in a DNS rule (unknown field: refused by check).
at_start() {  # JSON-RULE EXPECTED-TEXT
  jq --argjson r "$1" '.route.rules = [$r]' "$t/config.json" >"$t/bad.json"
  refused_at_start "$t/bad.json" "$2"
}
at_start '{"preferred_by": "nope", "outbound": "direct"}' 'route.rules[0].preferred_by: outbound not found: nope'
at_start '{"preferred_by": ["ts-ep", "direct"], "outbound": "direct"}' \
  'route.rules[0].preferred_by: outbound type does not support preferred routes: direct'
jq '.dns = {"servers": [{"type": "local", "tag": "local"}], "rules": [{"preferred_by": "ts-ep", "server": "local"}]}' \
  "$t/config.json" >"$t/dns.json"
expect_exit 78 "$sb" check -c "$t/dns.json" >"$t/dns.out" 2>&1
grep -qF 'unknown field "preferred_by"' "$t/dns.out" || fail "preferred_by in a DNS rule: $(cat "$t/dns.out")"
echo ok
