#!/usr/bin/env bash
# clash_mode rules match as in sing-box 1.13: the Clash API's mode is experimental.clash_api's
# default_mode ("Rule" when unset), compared ignoring case; without a Clash API they never match.
# tailbox serves no Clash API: check says so in a warning, and the mode never changes.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
rules='"outbounds": [{"type": "direct", "tag": "d"}, {"type": "direct", "tag": "global"}, {"type": "direct", "tag": "rule"}],
 "route": {"rules": [{"clash_mode": "Global", "outbound": "global"}, {"clash_mode": "rule", "outbound": "rule"}], "final": "d"}'
echo "{$rules}" >"$t/none.json"
echo "{\"experimental\": {\"clash_api\": {\"external_controller\": \"127.0.0.1:9090\"}}, $rules}" >"$t/api.json"
echo "{\"experimental\": {\"clash_api\": {\"default_mode\": \"global\"}}, $rules}" >"$t/global.json"

rc=0; "$sb" check -c "$t/none.json" 2>"$t/err" || rc=$?
[ "$rc" = 0 ] || fail "no clash api: exit $rc: $(cat "$t/err")"
[ ! -s "$t/err" ] || fail "no clash api: unexpected output: $(cat "$t/err")"
rc=0; "$sb" check -c "$t/api.json" 2>"$t/err" || rc=$?
[ "$rc" = 0 ] || fail "clash api: exit $rc: $(cat "$t/err")"
grep -qF 'sb-route: warning: experimental.clash_api: the Clash API is not served by tailbox; clash_mode rules match its default_mode ("Rule")' \
  "$t/err" || fail "clash api warning: $(cat "$t/err")"

outbound() { "$sb" explain --json -c "$t/$1.json" x.test:80 | jq -r '.outbound'; }
[ "$(outbound none)" = d ] || fail "no clash api: a clash_mode rule matched"
[ "$(outbound api)" = rule ] || fail "default mode Rule: got $(outbound api)"
[ "$(outbound global)" = global ] || fail "default_mode global: got $(outbound global)"
"$sb" explain -c "$t/global.json" x.test:80 >"$t/ex"
grep -qF 'matched rule 0 (route.rules[0]): clash_mode=Global => route(global)' "$t/ex" || fail "explain: $(cat "$t/ex")"
grep -qF '"clash_mode": "Global"' "$t/ex" || fail "explain items: $(cat "$t/ex")"

# The Clash API's cache fields, removed in 1.8, stop sing-box when it creates the box.
echo '{"experimental": {"clash_api": {"store_mode": true}}}' >"$t/store.json"
rc=0; "$sb" check -c "$t/store.json" 2>"$t/err" || rc=$?
[ "$rc" = 78 ] || fail "store_mode: exit $rc: $(cat "$t/err")"
grep -qF 'error: experimental.clash_api: cache_file and related fields in Clash API is deprecated in sing-box 1.8.0' "$t/err" ||
  fail "store_mode: $(cat "$t/err")"
echo ok
