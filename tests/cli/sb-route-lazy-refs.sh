#!/usr/bin/env bash
# Tags sing-box looks up per connection (a rule's outbound, a resolve action's server, a DNS rule's
# server): sing-box 1.13 starts with them, so check passes with a warning naming the path, and only
# the connections that rule decides fail, with sing-box's message (decide, explain, the plan).
# Tags sing-box resolves at start (detours, dns.final, route.final): sing-box check accepts them,
# so sb-route check warns naming the path and exits 0; plan and decide refuse them at load (78).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
cat >"$t/c.json" <<'JSON'
{"outbounds": [{"type": "direct", "tag": "d"}],
 "dns": {"servers": [{"type": "local", "tag": "l"}], "rules": [{"domain": "q.test", "server": "dns-gone"}]},
 "route": {"rules": [{"domain": "x.test", "outbound": "nope"},
                     {"domain": "r.test", "action": "resolve", "server": "srv-gone"}],
           "final": "d"}}
JSON
rc=0; "$sb" check -c "$t/c.json" 2>"$t/err" || rc=$?
[ "$rc" = 0 ] || fail "check: exit $rc, want 0 (warnings only): $(cat "$t/err")"
for w in 'route.rules[0].outbound: outbound not found: nope (sing-box starts; each connection this rule decides fails)' \
         'route.rules[1].server: DNS server not found: srv-gone' \
         'dns.rules[0].server: DNS server not found: dns-gone'; do
  grep -qF "sb-route: warning: $w" "$t/err" || fail "no warning '$w' in: $(cat "$t/err")"
done
! grep -q 'error:' "$t/err" || fail "errors: $(cat "$t/err")"
"$sb" check --json -c "$t/c.json" >"$t/check.json" || fail "check --json failed"
jq -se '[.[] | select(.type == "diagnostic" and .kind == "runtime" and .severity == "warning")] | length == 3' \
  "$t/check.json" >/dev/null || fail "check --json: $(cat "$t/check.json")"
jq -se '.[-1] | .type == "check" and .ok and .errors == 0 and .warnings == 3' "$t/check.json" >/dev/null ||
  fail "check record: $(tail -1 "$t/check.json")"

# decide: the rule's connections fail; the others do not.
printf '%s\n' '{"destination":"x.test:80","id":1}' '{"destination":"other.test:80","id":2}' \
  '{"destination":"r.test:80","id":3}' '{"destination":"10.0.0.1:80","id":4}' |
  "$sb" decide -c "$t/c.json" >"$t/dec" 2>"$t/dec.err" || fail "decide: $(cat "$t/dec.err")"
jq -se '.[0].matched_rule == 0 and .[0].outbound == "nope" and .[0].error == "outbound not found: nope"' "$t/dec" \
  >/dev/null || fail "x.test: $(sed -n 1p "$t/dec")"
jq -se '.[1].final and .[1].outbound == "d" and .[1].error == null' "$t/dec" >/dev/null || fail "other: $(sed -n 2p "$t/dec")"
jq -se '.[2].matched_rule == 1 and .[2].action == "resolve" and .[2].error == "DNS server not found: srv-gone"' "$t/dec" \
  >/dev/null || fail "r.test: $(sed -n 3p "$t/dec")"
jq -se '.[3].error == null and .[3].outbound == "d"' "$t/dec" >/dev/null || fail "an address is not resolved: $(sed -n 4p "$t/dec")"

# explain says it, and still exits 0 (the config is fine; this connection fails).
"$sb" explain -c "$t/c.json" x.test:443 >"$t/ex" || fail "explain exit $?"
grep -qF '  error: outbound not found: nope' "$t/ex" || fail "explain: $(cat "$t/ex")"
grep -qF 'matched rule 0 (route.rules[0])' "$t/ex" || fail "explain: $(cat "$t/ex")"

# The plan carries each rule's failure.
"$sb" plan -c "$t/c.json" <"$TB_FIXTURES/route/status-running.jsonl" >"$t/plan" 2>/dev/null || fail "plan failed"
jq -se '.[0].rules[0].error == "outbound not found: nope" and .[0].rules[1].error == "DNS server not found: srv-gone"' \
  "$t/plan" >/dev/null || fail "plan rules: $(jq -c '.rules' "$t/plan" | head -1)"

at_start() { printf '%s' "$2" >"$t/$1.json"; refused_at_start "$t/$1.json" "$3"; }
# Resolved when sing-box builds the box (sing-box check refuses it): an error with its path.
bad() {
  printf '%s' "$2" >"$t/$1.json"
  rc=0; "$sb" check -c "$t/$1.json" 2>"$t/err" || rc=$?
  [ "$rc" = 78 ] || fail "$1: exit $rc, want 78: $(cat "$t/err")"
  grep -qF "sb-route: error: $3" "$t/err" || fail "$1: no '$3' in: $(cat "$t/err")"
}
at_start final '{"outbounds":[{"type":"direct","tag":"d"}],"route":{"final":"nope"}}' 'route.final: default outbound not found: nope'
at_start detour '{"endpoints":[{"type":"tailscale","tag":"ts","detour":"nope"}]}' 'endpoints[0].detour: dependency[nope] not found for outbound[ts]'
at_start dns-detour '{"dns":{"servers":[{"type":"udp","tag":"u","server":"1.1.1.1","detour":"nope"}]}}' 'dns.servers[0].detour: outbound detour not found: nope'
bad resolver '{"dns":{"servers":[{"type":"local","tag":"l"}]},"outbounds":[{"type":"direct","tag":"d","domain_resolver":"x"}]}' 'outbounds[0].domain_resolver: domain resolver not found: x'
echo ok
