#!/usr/bin/env bash
# `format` rewrites canonically (idempotent, empty values dropped, one-element lists collapsed);
# YAML configs and -C directories merge as sing-box merges.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
fx=$TB_FIXTURES
cat >"$t/a.json" <<'JSON'
// comment
{
  "route": {"rules": [{"domain": ["x.test"], "invert": false, "outbound": "direct",}], "final": ""},
  "outbounds": [{"type": "direct", "tag": "direct"}], /* trailing */
}
JSON
"$sb" format -c "$t/a.json" >"$t/f1"
jq -e '(keys_unsorted == ["outbounds", "route"]) and .route.rules[0] == {"domain": "x.test", "outbound": "direct"} and (.route | has("final") | not)' "$t/f1" >/dev/null ||
  fail "format: $(cat "$t/f1")"
cp "$t/f1" "$t/b.json"
"$sb" format -c "$t/b.json" | cmp -s - "$t/f1" || fail "format is not idempotent"
cp "$t/a.json" "$t/w.json"
"$sb" format -w -c "$t/w.json" 2>"$t/err"
cmp -s "$t/w.json" "$t/f1" || fail "-w did not rewrite"
grep -qF "$t/w.json" "$t/err" || fail "-w did not name the file"
# Keys come out in sing-box's field order, whatever the input order; unknown keys keep theirs.
cat >"$t/o1.json" <<'JSON'
{"route": {"final": "direct", "rules": [{"outbound": "direct", "port": 22, "inbound": "in"}]},
 "inbounds": [{"listen_port": 1080, "listen": "127.0.0.1", "tag": "in", "type": "mixed"}],
 "outbounds": [{"bind_interface": "eth0", "tag": "direct", "type": "direct"}],
 "log": {"level": "info", "disabled": false}}
JSON
cat >"$t/o2.json" <<'JSON'
{"log": {"level": "info"},
 "outbounds": [{"type": "direct", "tag": "direct", "bind_interface": "eth0"}],
 "inbounds": [{"type": "mixed", "listen": "127.0.0.1", "tag": "in", "listen_port": 1080}],
 "route": {"rules": [{"inbound": "in", "port": 22, "outbound": "direct"}], "final": "direct"}}
JSON
"$sb" format -c "$t/o1.json" >"$t/g1"
"$sb" format -c "$t/o2.json" >"$t/g2"
jq -e '(keys_unsorted == ["log", "inbounds", "outbounds", "route"])
  and (.inbounds[0] | keys_unsorted == ["type", "tag", "listen", "listen_port"])
  and (.outbounds[0] | keys_unsorted == ["type", "tag", "bind_interface"])
  and (.route | keys_unsorted == ["rules", "final"])
  and (.route.rules[0] | keys_unsorted == ["inbound", "port", "outbound"])' "$t/g1" >/dev/null ||
  fail "format order: $(cat "$t/g1")"
cmp -s "$t/g1" "$t/g2" || fail "equal configs formatted differently"
cp "$t/g1" "$t/o3.json"
"$sb" format -c "$t/o3.json" | cmp -s - "$t/g1" || fail "ordered format is not a fixed point"
echo '{"route": {"rules": [{"bogus": 1}]}}' >"$t/bad.json"
expect_exit 78 "$sb" format -c "$t/bad.json"
# YAML, as the Rust port's users write it.
cat >"$t/ts.yaml" <<'YAML'
endpoints:
  - tag: ts-ep
    type: tailscale
    auth_key: tskey-auth-xxx
    hostname: myhost
    ephemeral: true
outbounds:
  - {type: direct, tag: direct}
route:
  rules:
    - ip_cidr: [100.64.0.0/10]
      outbound: ts-ep
    - port: 443
      outbound: direct
YAML
"$sb" check -c "$t/ts.yaml" 2>/dev/null || fail "YAML config refused"
j=$("$sb" explain -c "$t/ts.yaml" --json 100.101.1.2:22)
jq -e '.outbound == "ts-ep"' <<<"$j" >/dev/null || fail "YAML routing: $j"
printf 'route:\n  rules:\n    - port: "443"\n      outbound: direct\n' >"$t/q.yaml"
expect_exit 78 "$sb" check -c "$t/q.yaml"
# -C merges in path order: arrays concatenate, the earlier scalar wins.
mkdir -p "$t/d"
echo '{"outbounds":[{"type":"direct","tag":"one"}],"route":{"final":"one"}}' >"$t/d/1.json"
echo '{"outbounds":[{"type":"direct","tag":"two"}],"route":{"final":"two","rules":[{"port":22,"outbound":"two"}]}}' >"$t/d/2.json"
j=$("$sb" -C "$t/d" explain --json x.test:80)
jq -e '.outbound == "one" and .final == true' <<<"$j" >/dev/null || fail "merge final: $j"
j=$("$sb" explain -C "$t/d" --json x.test:22)
jq -e '.outbound == "two"' <<<"$j" >/dev/null || fail "merge rules: $j"
echo ok
