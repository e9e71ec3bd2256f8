#!/usr/bin/env bash
# `plan`: one complete plan per new tailnet state, only when it changed, with a growing generation;
# unknown record types are ignored; an unreachable daemon still gives a working plan.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/lib.sh" ]; then
  # shellcheck source=/dev/null
  . "$here/lib.sh"
fi
# Fallbacks while tests/cli/lib.sh does not exist (or lacks a helper).
if [ -z "${t:-}" ]; then t=$(mktemp -d); trap 'rm -rf "$t"' EXIT; fi
declare -F fail >/dev/null || fail() { echo "FAIL: $*" >&2; exit 1; }
declare -F expect_exit >/dev/null || expect_exit() {
  local want=$1 rc=0; shift
  "$@" || rc=$?
  [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc: $*"
}
sb=${TB_BIN:?TB_BIN not set}/sb-route/sb-route
fx=${TB_FIXTURES:?TB_FIXTURES not set}
[ -x "$sb" ] || { echo "skip: $sb not built"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }
cfg=$fx/route/tailnet-config.json
run=$fx/route/status-running.jsonl
down=$fx/route/status-unreachable.jsonl
{ cat "$run"; echo '{"v":1,"type":"event","name":"peer_online"}'; cat "$run"; cat "$down"; cat "$run"; } |
  "$sb" plan -c "$cfg" >"$t/plans" 2>"$t/err"
[ "$(wc -l <"$t/plans")" -eq 3 ] || fail "want 3 plans (running, unreachable, running), got $(wc -l <"$t/plans")"
jq -se 'map(.generation) == [1, 2, 3]' "$t/plans" >/dev/null || fail "generations: $(jq -c .generation "$t/plans")"
jq -se 'all(.[]; (keys_unsorted[0:2]) == ["v", "type"] and .v == 1 and .type == "plan")' "$t/plans" >/dev/null ||
  fail "records must start with v and type"
first=$(head -1 "$t/plans")
jq -e '.tailnet.state == "running"
  and .tailnet.self_ips == ["100.101.1.1", "fd7a:115c:a1e0::1"]
  and (.tailnet.peer_ips | index("100.101.1.2") != null)
  and .tailnet.routes == ["192.168.1.0/24"]
  and .tailnet.exit_node.name == "exit-fra"
  and .magic_dns.suffix == "tail1234.ts.net"
  and .magic_dns.names["nas.tail1234.ts.net"] == ["100.101.1.2", "fd7a:115c:a1e0::2"]
  and .magic_dns.names["nas"] == ["100.101.1.2", "fd7a:115c:a1e0::2"]
  and .final == "proxy"
  and (.rules | length) == 3 and .rules[0].action == "route(ts-ep)"
  and (.outbounds | map(.tag)) == ["direct", "proxy", "ts-ep"]' <<<"$first" >/dev/null || fail "running plan: $first"
# Every plan carries the merged config and the status record it came from (sb-relay rebuilds the Router).
jq -se 'all(.[]; (.source | type) == "object" and .source.route.final == "proxy" and .status.type == "status")
  and .[0].status.state == "running" and .[1].status.state == "daemon_unreachable" and .[0].tun == true' "$t/plans" >/dev/null ||
  fail "plans must carry source and status: $(jq -c '{source, status: .status.state, tun}' "$t/plans")"
# A status record without "tun" means a kernel TUN, as tailscaled without the field means it (and
# as sb-relay reads the same record).
jq -c 'del(.tun)' "$run" | "$sb" plan -c "$cfg" >"$t/notun"
jq -e '.tun == true' "$t/notun" >/dev/null || fail "status without tun: plan tun $(jq -c .tun "$t/notun")"
# Without -c/-C the embedded default config: a mixed inbound on 127.0.0.1:1080, tailnet → endpoint, rest direct.
(cd "$t" && "$sb" plan <"$run" >"$t/defplan") || fail "plan with the default config failed"
jq -e '.config == ["<default>"] and .final == "direct" and (.outbounds | map(.tag)) == ["direct", "ts-ep"]
  and .rules[0].action == "route(ts-ep)" and .source.inbounds[0].listen_port == 1080' "$t/defplan" >/dev/null ||
  fail "default plan: $(cat "$t/defplan")"
jq -se '.[1].tailnet.state == "daemon_unreachable" and .[1].tailnet.peer_ips == [] and .[1].magic_dns.names == {}' "$t/plans" >/dev/null ||
  fail "unreachable plan: $(sed -n 2p "$t/plans")"
# Without the tailnet, the rest still routes.
printf '%s\n' '{"destination":"www.example.com:443"}' '{"destination":"nas:445"}' '{"destination":"10.0.0.1:80"}' >"$t/req"
{ cat "$down"; cat "$t/req"; } | "$sb" decide -c "$cfg" >"$t/d1"
jq -se 'map(.outbound) == ["proxy", "proxy", "direct"]' "$t/d1" >/dev/null || fail "unreachable decisions: $(cat "$t/d1")"
{ cat "$run"; cat "$t/req"; } | "$sb" decide -c "$cfg" >"$t/d2"
jq -se 'map(.outbound) == ["proxy", "ts-ep", "direct"] and .[1].matched_items == [{"rule_set": "tailscale"}, {"domain": "nas"}]' "$t/d2" >/dev/null ||
  fail "running decisions: $(cat "$t/d2")"
# A bad config is 78 before any input is read; a bad record is 65 at the end.
echo '{"route":{"rules":[{"port":"x","outbound":"direct"}]}}' >"$t/bad.json"
expect_exit 78 "$sb" plan -c "$t/bad.json" </dev/null
rc=0; printf 'garbage\n' | "$sb" plan -c "$cfg" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 65 ] || fail "garbage line: exit $rc"
echo ok
