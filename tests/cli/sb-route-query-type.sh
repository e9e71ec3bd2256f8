#!/usr/bin/env bash
# query_type in a rule-set rule: a connection has no DNS query type, so a rule-set rule with
# query_type never matches a connection, in sing-box as in tailbox (route/rule/rule_item_query_type.go
# compares metadata.QueryType, which only DNS lookups set); the rule after it decides. In a DNS
# rule, query_type is refused at check (sb-relay asks A and AAAA in one lookup), with its path.
. "$(dirname "$0")/lib.sh"
SB_ROUTE=$(tool sb-route)

cat > "$t/c.json" <<'JSON'
{"outbounds":[{"type":"direct","tag":"d"},{"type":"direct","tag":"b"}],
 "route":{"rule_set":[{"type":"inline","tag":"qt","rules":[{"query_type":["A","AAAA"],"domain":["a.example"]}]},
                      {"type":"inline","tag":"plain","rules":[{"domain":["a.example"]}]}],
          "rules":[{"rule_set":"qt","action":"reject"},{"rule_set":"plain","outbound":"b"}],"final":"d"}}
JSON
"$SB_ROUTE" check -c "$t/c.json" 2>"$t/check.err" || fail "check refused a rule-set rule with query_type: $(cat "$t/check.err")"
[ ! -s "$t/check.err" ] || fail "check said something about query_type: $(cat "$t/check.err")"
out=$(echo '{"destination":"a.example:443","network":"tcp"}' | "$SB_ROUTE" decide -c "$t/c.json") || fail "decide failed"
[ "$(jq -r .outbound <<<"$out")" = b ] || fail "a rule-set rule with query_type matched a connection: $out"

cat > "$t/dns.json" <<'JSON'
{"dns":{"servers":[{"type":"local","tag":"l"}],"rules":[{"query_type":["A"],"domain":["a.example"],"server":"l"}]}}
JSON
rc=0; "$SB_ROUTE" check -c "$t/dns.json" 2>"$t/dns.err" || rc=$?
[ "$rc" = 78 ] || fail "query_type in a DNS rule: exit $rc, want 78"
grep -q 'dns.rules\[0\].query_type.*not supported by tailbox' "$t/dns.err" || fail "DNS rule query_type: $(cat "$t/dns.err")"
echo ok
