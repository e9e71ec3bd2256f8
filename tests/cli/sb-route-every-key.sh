#!/usr/bin/env bash
# `sb-route schema` lists every sing-box key with its support; none is accepted silently. Every key
# the checker reports by itself (a record with a reason) is tried in a minimal config, in each
# object type it belongs to: `sb-route check` refuses a refused key (exit 78, its JSON path and
# "not supported by tailbox") and warns about a warned one (exit 0, its path and the reason).
# tests/unit/route/schema_every_key_test.cpp goes through every key (and the carried keys' proofs).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
command -v python3 >/dev/null || skip "python3 missing"
sb=$(tool sb-route)
"$sb" schema >"$t/schema.jsonl" || fail "sb-route schema failed"
n=$(wc -l <"$t/schema.jsonl")
[ "$n" -gt 300 ] || fail "sb-route schema: only $n keys"
jq -se 'all(.[]; .v == 1 and .type == "key" and (.support | IN("carried", "warned", "refused", "removed", "later")))
        and any(.[]; .section == "dial" and .key == "protect_path" and .support == "carried")' "$t/schema.jsonl" >/dev/null ||
  fail "sb-route schema: a record without a known support: $(jq -c 'select(.support | IN("carried", "warned", "refused", "removed", "later") | not)' "$t/schema.jsonl" | head -3)"

# One config per reported key and object type: CASE lines "support<TAB>path<TAB>reason<TAB>config".
python3 - "$t/schema.jsonl" >"$t/cases" <<'PY'
import json, sys
values = {"network_strategy": "hybrid", "default_network_strategy": "hybrid", "network_type": "wifi",
          "default_network_type": "wifi", "fallback_network_type": "cellular",
          "default_fallback_network_type": "cellular", "system_interface_name": "ts0", "path": "/p"}
by_type = {"string": "x", "bool": True, "int": 1280, "port": 1, "mark": 1, "duration": "1s",
           "listable": "x", "object": {"a": "b"}, "any": True, "list": ["x"]}
for line in open(sys.argv[1]):
    k = json.loads(line)
    if k["reason"] is None or k["support"] not in ("warned", "refused"):
        continue
    name, sec = k["key"], k["section"]
    v = values.get(name, by_type[k["value"]])
    for only in k["only"] or [""]:
        cfg = {"outbounds": [{"type": "direct", "tag": "d"}]}
        if sec in ("listen", "inbound"):
            cfg["inbounds"] = [{"type": only or "mixed", name: v}]
            path = "inbounds[0]." + name
        elif sec in ("dial", "outbound"):
            o = {"type": only or "socks", "tag": "o", "server": "127.0.0.1", "server_port": 1080, name: v}
            cfg["outbounds"].insert(0, o)
            path = "outbounds[0]." + name
        elif sec == "tailscale":
            cfg["endpoints"] = [{"type": "tailscale", "tag": "ts", name: v}]
            path = "endpoints[0]." + name
        elif sec == "route":
            cfg["route"] = {name: v}
            if name == "default_network_strategy":
                cfg["route"]["auto_detect_interface"] = True
            path = "route." + name
        elif sec == "route_options":
            rule = {"domain": "a.example", "action": only or "route-options", name: v}
            if rule["action"] in ("route", "bypass"):
                rule["outbound"] = "d"
            cfg["route"] = {"rules": [rule]}
            path = "route.rules[0]." + name
        elif sec == "resolver":
            cfg["dns"] = {"servers": [{"type": "local", "tag": "l"}]}
            cfg["route"] = {"default_domain_resolver": {"server": "l", name: v}}
            path = "route.default_domain_resolver." + name
        elif sec == "dns_server":
            cfg["dns"] = {"servers": [{"type": only or "local", "tag": "l", name: v}]}
            path = "dns.servers[0]." + name
        elif sec in ("dns_rule", "dns_rule_action"):
            rule = {"domain": "a.example", name: v}
            if sec == "dns_rule_action":
                rule["action"] = only or "route"
            if rule.get("action", "route") == "route":
                rule["server"] = "l"
            cfg["dns"] = {"servers": [{"type": "local", "tag": "l"}], "rules": [rule]}
            path = "dns.rules[0]." + name
        else:
            print("unplaced\t%s.%s\t-\t-" % (sec, name))
            continue
        print("\t".join([k["support"], path, k["reason"], json.dumps(cfg)]))
PY
grep -q . "$t/cases" || fail "no key with a reason in sb-route schema"
count=0
while IFS=$'\t' read -r support path reason cfg; do
  [ "$support" != unplaced ] || fail "the test does not know where to put $path"
  printf '%s\n' "$cfg" >"$t/c.json"
  rc=0; "$sb" check -c "$t/c.json" 2>"$t/err" || rc=$?
  case $support in
    refused)
      [ $rc -eq 78 ] || fail "$path: check exit $rc, expected 78: $(cat "$t/err") in $cfg"
      grep -F -- "error: $path: " "$t/err" | grep -qF 'not supported by tailbox' ||
        fail "$path: no refusal at its path: $(cat "$t/err") in $cfg" ;;
    warned)
      [ $rc -eq 0 ] || fail "$path: check exit $rc, expected 0: $(cat "$t/err") in $cfg"
      grep -qF -- "warning: $path: $reason" "$t/err" || fail "$path: no warning at its path: $(cat "$t/err") in $cfg" ;;
  esac
  count=$((count + 1))
done <"$t/cases"
[ $count -ge 20 ] || fail "only $count keys tried"
echo "ok: $count reported keys tried, none of $n accepted silently" >&2
