#!/usr/bin/env bash
# Every real-world config in fixtures/singbox/configs/ gets its outcome: accepted, or refused (78) naming the exact unsupported paths (and the errors sing-box 1.13 gives too). Never a crash.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
fx=$TB_FIXTURES
dir=$fx/singbox/configs
declare -A want_rc=(
  [issue-1127-socks-direct-routing-mark.json]=78
  [issue-1787-mixed-ruleset-block.json]=78
  [issue-3414-tailscale-mixed-tun.json]=78
  [nekoray-1115-http-socks-inbounds.json]=0
  [repo-chika0801-tun-1.11.json]=78
)
declare -A want_paths=(
  [issue-1127-socks-direct-routing-mark.json]='outbounds[0].domain_strategy: legacy domain_strategy dial field is deprecated'
  [issue-1787-mixed-ruleset-block.json]='route.rule_set[0]: rule-set type "remote" is not supported by tailbox'
  [issue-3414-tailscale-mixed-tun.json]='inbounds[1]: inbound type "tun" is not supported by tailbox'
  [repo-chika0801-tun-1.11.json]='inbounds[0]: inbound type "tun" is not supported by tailbox|route.rule_set[0]: rule-set format "binary" is not supported by tailbox|route.rule_set[1]: rule-set format "binary" is not supported by tailbox|dns.fakeip: legacy fakeip options are deprecated|dns.servers[0]: legacy DNS server format is deprecated|dns.servers[5]: legacy DNS server format is deprecated|dns.rules[0].outbound: the outbound DNS rule item is deprecated|outbounds[1]: missing `route.default_domain_resolver`'
)
n=0
for f in "$dir"/*.json; do
  name=$(basename "$f")
  [ -n "${want_rc[$name]+x}" ] || fail "$name: new config without an expected outcome in $0"
  rc=0; "$sb" check -c "$f" 2>"$t/err" || rc=$?
  [ "$rc" -eq "${want_rc[$name]}" ] || fail "$name: exit $rc, want ${want_rc[$name]}: $(cat "$t/err")"
  if [ -n "${want_paths[$name]+x}" ]; then
    IFS='|' read -ra paths <<<"${want_paths[$name]}"
    for p in "${paths[@]}"; do grep -qF -- "error: $p" "$t/err" || fail "$name: missing '$p' in: $(cat "$t/err")"; done
    # Only the unsupported parts and the expected errors (deprecations sing-box 1.13 makes fatal,
    # dns.servers[0..5] alike): the rest of the config was still checked and is fine.
    while IFS= read -r line; do
      [[ $line == *'[unsupported]' || $line == *'error: dns.servers['[0-5]']: legacy DNS server format'* ]] && continue
      known=0
      for p in "${paths[@]}"; do [[ $line == *"error: $p"* ]] && known=1; done
      [ "$known" = 1 ] || fail "$name: unexpected error: $line"
    done < <(grep 'error:' "$t/err")
  fi
  # --json gives the same verdict as records on stdout.
  rc=0; "$sb" check --json -c "$f" >"$t/out" 2>/dev/null || rc=$?
  [ "$rc" -eq "${want_rc[$name]}" ] || fail "$name: --json exit $rc"
  jq -e 'select(.type == "check") | .v == 1' "$t/out" >/dev/null || fail "$name: no check record"
  n=$((n + 1))
done
# Accepted configs also explain a connection without error.
"$sb" explain -c "$dir/nekoray-1115-http-socks-inbounds.json" example.com:443 | contains 'outbound direct' ||
  fail "implicit direct outbound not used"
echo "ok: $n configs"
