#!/usr/bin/env bash
# `explain`: outbound, matched rule index and items in config syntax, or the fall-through; --json too.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
fx=$TB_FIXTURES
cat >"$t/c.json" <<'JSON'
{
  "outbounds": [{"type": "direct", "tag": "direct"}, {"type": "socks", "tag": "proxy", "server": "127.0.0.1", "server_port": 1080}],
  "route": {
    "rules": [
      {"action": "sniff"},
      {"domain_suffix": ["example.com", "example.org"], "port": 443, "outbound": "proxy"},
      {"domain": "ads.test", "action": "reject", "method": "drop"},
      {"action": "resolve"},
      {"ip_cidr": "93.184.216.0/24", "outbound": "proxy"}
    ],
    "final": "direct"
  }
}
JSON
out=$("$sb" explain -c "$t/c.json" www.example.com:443)
grep -qF 'matched rule 1 (route.rules[1])' <<<"$out" || fail "rule index: $out"
grep -qF '"domain_suffix": "example.com"' <<<"$out" || fail "items: $out"
grep -qF '"port": 443' <<<"$out" || fail "port item: $out"
grep -qF 'rule 0 => sniff (continues)' <<<"$out" || fail "sniff step: $out"
grep -qF '=> outbound proxy' <<<"$out" || fail "verdict: $out"
out=$("$sb" explain -c "$t/c.json" 1.1.1.1:53 --network udp)
grep -qF 'fell through to route.final' <<<"$out" || fail "fall-through: $out"
j=$("$sb" explain -c "$t/c.json" --json ads.test:80)
jq -e '.v == 1 and .type == "decision" and .action == "reject" and .method == "drop" and .matched_rule == 2 and .outbound == null' <<<"$j" >/dev/null || fail "reject: $j"
# Sniffed domain on an IP destination.
j=$("$sb" explain -c "$t/c.json" --json --sniff-protocol tls --sniff-domain a.example.org 203.0.113.9:443)
jq -e '.outbound == "proxy" and .matched_rule == 1 and .matched_items[0] == {"domain_suffix": "example.org"}' <<<"$j" >/dev/null || fail "sniff: $j"
# resolve with static answers, then ip_cidr; without an answer the lookup fails.
j=$("$sb" explain -c "$t/c.json" --json --dns site.test=93.184.216.34 site.test:80)
jq -e '.outbound == "proxy" and .matched_rule == 4 and .resolved == ["93.184.216.34"]' <<<"$j" >/dev/null || fail "resolve: $j"
j=$("$sb" explain -c "$t/c.json" --json other.test:80)
jq -e '.error | startswith("lookup failed")' <<<"$j" >/dev/null || fail "lookup failure: $j"
# Process rules with a given owner.
echo '{"outbounds":[{"type":"direct","tag":"direct"},{"type":"block","tag":"b"}],"route":{"rules":[{"process_name":"curl","outbound":"b"}]}}' >"$t/p.json"
"$sb" explain -c "$t/p.json" --process-path /usr/bin/curl x.test:80 | contains -F '"process_name": "curl"' || fail "process_name"
"$sb" explain -c "$t/p.json" --process-path /usr/bin/wget x.test:80 | contains -F 'outbound direct' || fail "process_name miss"
echo ok
