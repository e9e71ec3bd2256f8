#!/usr/bin/env bash
# Bad configs and bad input: one clear error line, exit 78 (config), 65 (records) or 2 (usage); never a crash.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
fx=$TB_FIXTURES
bad() {  # name, config text → exit 78 with an error line mentioning $3
  printf '%s' "$2" >"$t/$1.json"
  rc=0; "$sb" check -c "$t/$1.json" 2>"$t/err" || rc=$?
  [ "$rc" -eq 78 ] || fail "$1: exit $rc, want 78: $(cat "$t/err")"
  grep -q '^sb-route: error: ' "$t/err" || fail "$1: no error line: $(cat "$t/err")"
  grep -qF -- "$3" "$t/err" || fail "$1: error lacks '$3': $(cat "$t/err")"
  [ "$(wc -l <"$t/err")" -le 5 ] || fail "$1: too much output: $(cat "$t/err")"
}
# What sing-box resolves only at start: sing-box check accepts it, so sb-route check warns; the
# commands that use the config (tailbox's start) refuse it.
at_start() { printf '%s' "$2" >"$t/$1.json"; refused_at_start "$t/$1.json" "$3"; }
bad empty '' 'empty file'
bad blank $'  \n\n' 'empty file'
head -c 2048 /dev/urandom >"$t/garbage.json"
rc=0; "$sb" check -c "$t/garbage.json" 2>"$t/err" || rc=$?
[ "$rc" -eq 78 ] || fail "garbage: exit $rc"
[ "$(wc -l <"$t/err")" -eq 1 ] || fail "garbage: not one line: $(cat "$t/err")"
bad array '[1,2]' 'cannot unmarshal'
bad syntax '{"route": {' 'decode config'
bad port-type '{"route":{"rules":[{"port":"443","outbound":"direct"}]}}' 'route.rules[0].port: json: cannot unmarshal string'
bad port-huge '{"route":{"rules":[{"port":99999999999999999999999,"outbound":"direct"}]}}' 'route.rules[0].port'
bad port-big '{"route":{"rules":[{"port":65536,"outbound":"direct"}]}}' 'route.rules[0].port'
bad port-overflow '{"route":{"rules":[{"port":1e999,"outbound":"direct"}]}}' "number overflow parsing '1e999'"
bad regex '{"route":{"rules":[{"domain_regex":"(unclosed","outbound":"direct"}]}}' 'route.rules[0].domain_regex: parse expression 0'
bad cidr '{"route":{"rules":[{"ip_cidr":["10.0.0.0/8","300.1.1.1/8"],"outbound":"direct"}]}}' 'ipcidr: parse [1]'
bad cidr-src '{"route":{"rules":[{"source_ip_cidr":"nope","outbound":"direct"}]}}' 'source_ip_cidr: parse [0]'
bad unknown-key '{"route":{"rules":[{"domian":"x","outbound":"direct"}]}}' 'route.rules[0]: json: unknown field "domian"'
bad unknown-top '{"routes":{}}' 'json: unknown field "routes"'
bad rules-type '{"route":{"rules":{}}}' 'route.rules: json: cannot unmarshal object'
bad bool-type '{"route":{"rules":[{"ip_is_private":"yes","outbound":"direct"}]}}' 'route.rules[0].ip_is_private'
bad listen '{"inbounds":[{"type":"mixed","listen":"not-an-ip"}]}' 'inbounds[0].listen'
at_start final '{"outbounds":[{"type":"direct","tag":"d"}],"route":{"final":"nope"}}' 'route.final: default outbound not found: nope'
# A rule's missing outbound is sing-box's per-connection error: check passes with a warning, and
# only the connections that rule decides fail (cli/sb-route-lazy-refs).
at_start detour '{"outbounds":[{"type":"socks","tag":"s","server":"127.0.0.1","server_port":1,"detour":"nope"}]}' 'outbounds[0].detour: dependency[nope] not found for outbound[s]'
at_start dns-final '{"dns":{"servers":[{"type":"local","tag":"l"}],"final":"nope"}}' 'dns.final: default DNS server not found: nope'
bad vless '{"outbounds":[{"type":"vless","tag":"v","server":"x"}]}' 'outbounds[0]: outbound type "vless" is not supported by tailbox'
bad dup-tag '{"outbounds":[{"type":"direct","tag":"a"},{"type":"block","tag":"a"}]}' 'duplicate outbound/endpoint tag: a'
at_start rs-missing '{"route":{"rules":[{"rule_set":"nope","outbound":"direct"}]}}' 'route.rules[0].rule_set: rule-set not found: nope'
bad rs-reserved '{"route":{"rule_set":[{"tag":"tailscale","rules":[]}]}}' 'reserved'
bad yaml-bad '' 'empty'
# Nesting past the stack and YAML alias bombs: refused in a moment, not a SIGSEGV or minutes of
# allocation ending in bad_alloc (both crashed before).
bad deep "{\"route\":{\"rules\":$(printf '[%.0s' $(seq 100000))$(printf ']%.0s' $(seq 100000))}}" 'json: nested deeper than 512 levels'
{ echo 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'; l=abcdefghi
  for i in 1 2 3 4 5 6 7 8; do x=${l:i:1} p="*${l:i-1:1}"
    echo "$x: &$x [$p, $p, $p, $p, $p, $p, $p, $p, $p]"; done; } >"$t/laughs.yaml"
rc=0; timeout 20 "$sb" check -c "$t/laughs.yaml" 2>"$t/err" || rc=$?
[ "$rc" -eq 78 ] || fail "billion laughs: exit $rc, want 78: $(cat "$t/err")"
contains -F 'yaml: aliases expand to more than' <"$t/err" || fail "billion laughs: $(cat "$t/err")"
# A YAML integer past a double: a string, so the field's type error (it aborted in JSON, see above).
printf 'route:\n  rules:\n    - port: %s\n      outbound: direct\n' "$(printf '9%.0s' $(seq 400))" >"$t/huge.yaml"
rc=0; "$sb" check -c "$t/huge.yaml" 2>"$t/err" || rc=$?
[ "$rc" -eq 78 ] || fail "yaml huge port: exit $rc, want 78: $(cat "$t/err")"
contains -F 'route.rules[0].port: json: cannot unmarshal string' <"$t/err" || fail "yaml huge port: $(cat "$t/err")"
printf 'route: [unclosed\n' >"$t/broken.yaml"
expect_exit 78 "$sb" check -c "$t/broken.yaml"
expect_exit 78 "$sb" check -c "$t/does-not-exist.json"
# A malformed mark string fails at check, with its path (not only when sb-relay builds its plan).
echo '{"outbounds":[{"type":"direct","tag":"d","routing_mark":"0xZZ"}]}' >"$t/mark.json"
expect_exit 78 "$sb" check -c "$t/mark.json" >"$t/mark.out" 2>&1
grep -q 'outbounds\[0\].routing_mark: strconv.ParseUint: parsing "0xZZ": invalid syntax' "$t/mark.out" || fail "bad mark: $(cat "$t/mark.out")"
# Records: a bad line is reported, the others still get decisions, exit 65.
echo '{}' >"$t/ok.json"
printf '%s\n' 'not json' '{"destination":"a.test:443"}' '{"destination":"a.test:99999"}' '{"destination":"x","network":"sctp"}' >"$t/in"
rc=0; "$sb" decide -c "$t/ok.json" <"$t/in" >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" -eq 65 ] || fail "decide bad input: exit $rc"
[ "$(wc -l <"$t/out")" -eq 1 ] || fail "decide: want 1 decision, got $(cat "$t/out")"
[ "$(wc -l <"$t/err")" -eq 3 ] || fail "decide: want 3 error lines, got $(cat "$t/err")"
# Usage errors are 2.
expect_exit 2 "$sb"
expect_exit 2 "$sb" explain -c "$t/ok.json"
expect_exit 2 "$sb" explain -c "$t/ok.json" no-port
expect_exit 2 "$sb" bogus
echo ok
