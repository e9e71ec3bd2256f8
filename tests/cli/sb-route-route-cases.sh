#!/usr/bin/env bash
# Every route_cases.json case through the real binary: `decide` for connections, `check` and `plan`
# for config errors (what sing-box refuses only at start, stage "start": check warns and exits 0, plan exits 78).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
sb=$(tool sb-route)
fx=$TB_FIXTURES
cases=$fx/singbox/route_cases.json
# One line per case: id, kind, config, connection (base64 JSON), dns arguments; tab-separated.
jq -r '
  (.cases[] | . + {kind: (if .expect.config_error then "refuse" else "decide" end)}),
  (.endpoint_cases[] | . + {kind: (if .expect.config_error then "refuse" else "accept" end)})
  | [.id, .kind, (.config | tojson | @base64), ((.connection // {}) | tojson | @base64),
     ((.dns // {}) | to_entries | map("--dns \(.key)=\(.value | join(","))") | join(" "))] | @tsv' "$cases" >"$t/list"
n=0
: >"$t/results"
while IFS=$'\t' read -r id kind config conn dns; do
  printf '%s' "$config" | base64 -d >"$t/config.json"
  case $kind in
    refuse)
      # check, and plan (tailbox's start: what sing-box refuses only at start, check only warns about)
      rc=0; "$sb" check -c "$t/config.json" 2>"$t/err" || rc=$?
      prc=0; "$sb" plan -c "$t/config.json" </dev/null >/dev/null 2>"$t/plan-err" || prc=$?
      jq -nc --arg id "$id" --argjson rc "$rc" --rawfile err "$t/err" --argjson prc "$prc" --rawfile perr "$t/plan-err" \
        '{id: $id, rc: $rc, err: $err, plan_rc: $prc, plan_err: $perr}' >>"$t/results" ;;
    accept)
      rc=0; "$sb" check -c "$t/config.json" 2>"$t/err" || rc=$?
      printf '{"id":"%s","rc":%d}\n' "$id" "$rc" >>"$t/results" ;;
    decide)
      # shellcheck disable=SC2086
      out=$( (printf '%s' "$conn" | base64 -d; echo) | "$sb" decide -c "$t/config.json" $dns) || fail "$id: decide failed"
      printf '{"id":"%s","rc":0,"decision":%s}\n' "$id" "$out" >>"$t/results" ;;
  esac
  n=$((n + 1))
done <"$t/list"
[ "$n" -ge 153 ] || fail "only $n cases ran"
# Compare every result with its expectation in one pass; print the failures.
jq -rn --slurpfile r "$t/results" --slurpfile all "$cases" '
  ($all[0].cases + $all[0].endpoint_cases | map({(.id): .expect}) | add) as $exp
  | $r[] | . as $res | $exp[$res.id] as $e
  | (if $e.config_error and $e.stage == "start" then
       $res.rc == 0 and ($res.err | contains($e.config_error + " (sing-box check accepts this;"))
       and ($res.err | contains("error:") | not)
       and $res.plan_rc == 78 and ($res.plan_err | contains("error: ") and contains($e.config_error))
     elif $e.config_error then $res.rc == 78 and ($res.err | contains($e.config_error))
       and $res.plan_rc == 78 and ($res.plan_err | contains($e.config_error))
     elif ($res.decision == null) then $res.rc == 0
     elif $e.error then ($res.decision.error // "") | contains($e.error)
     else $res.decision as $d
       | $d.error == null
       and (if $e | has("outbound") then $d.action == "route" and $d.outbound == $e.outbound else true end)
       and (if $e | has("action") then $d.action == $e.action else true end)
       and (if $e | has("method") then $d.method == $e.method else true end)
       and (if $e | has("matched_rule") then $d.matched_rule == $e.matched_rule else true end)
     end) as $ok
  | select($ok | not) | "FAIL: \($res.id): want \($e | tojson), got \($res | tojson)"' >"$t/failures"
if [ -s "$t/failures" ]; then cat "$t/failures" >&2; fail "$(wc -l <"$t/failures") of $n cases differ"; fi
echo "ok: $n cases"
