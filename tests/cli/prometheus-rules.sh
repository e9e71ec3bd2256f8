#!/usr/bin/env bash
# contrib/prometheus: the alerting rules load (promtool check rules), their unit tests pass
# (promtool test rules), and every tailbox_ metric they use is one ts-status --format prometheus
# writes (against the fake, with an exit node in use, a relayed peer and a health message), so a
# renamed metric cannot leave a rule silently matching nothing.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
command -v promtool >/dev/null || skip "promtool is not installed (Debian: prometheus; scripts/install-deps.sh)"
dir=$TB_SRC/contrib/prometheus

promtool check rules "$dir/tailbox.rules.yml" >"$t/check.out" 2>&1 || fail "promtool check rules: $(cat "$t/check.out")"
(cd "$dir" && promtool test rules tailbox.rules.test.yml) >"$t/test.out" 2>&1 || fail "promtool test rules: $(cat "$t/test.out")"

start_fake --generate-peers 3
fake_ctl /action -d '{"peer":{"name":"peer1","ExitNodeOption":true,"relay":"fra"},"health":["a health message"]}' >/dev/null
lapi /localapi/v0/prefs -X PATCH -d '{"ExitNodeIP":"100.64.0.2","ExitNodeIPSet":true}' >/dev/null
"$ts" --socket "$FAKE_SOCK" --format prometheus >"$t/m.prom"
promtool check metrics <"$t/m.prom" >"$t/lint.out" 2>&1 || fail "promtool check metrics: $(cat "$t/lint.out")"
used=$(grep -o 'tailbox_[a-z_]*' "$dir/tailbox.rules.yml" | sort -u)
[ -n "$used" ] || fail "no tailbox_ metric in the rules"
for m in $used; do
  grep -q "^$m[{ ]" "$t/m.prom" || fail "the rules use $m, which ts-status does not write: $(grep -v '^#' "$t/m.prom" | sed 's/[{ ].*//' | sort -u | tr '\n' ' ')"
done
echo "ok: $(grep -c 'alert:' "$dir/tailbox.rules.yml") rules load and pass their tests; the $(wc -w <<<"$used") metrics they use are written"
