#!/usr/bin/env bash
# Real configs from the wild (fixtures/singbox/wild/, sources in INDEX.md): the reference sing-box's
# `check` and sb-route's `check` on each (and, for what sing-box refuses only at start, `sing-box run`
# and `sb-route plan`), against fixtures/singbox/wild/expected.tsv.
#
#   sb-route-wild.sh            the test (skipped, exit 77, without build/singbox/sing-box: make singbox)
#   sb-route-wild.sh --table    also print docs/wild-configs.md (the outcome table) on stdout
#
# expected.tsv, one line per file (tab-separated; '#' lines are comments):
#   FILE  SINGBOX  SINGBOX_CAUSE  TAILBOX  TAILBOX_PATH  NOTE
#   SINGBOX       accept | refuse (sing-box check's exit status 0 | 1)
#                 start-fail: check accepts, and `sing-box run` fails at start (a tag looked up in Start)
#                 with SINGBOX_CAUSE; run only in a network namespace of its own (else not run, said so)
#   SINGBOX_CAUSE text that sing-box's first error contains (its JSON path, key or deprecation name); - on accept
#   TAILBOX       accept           sb-route check exits 0
#                 same             exits 78 with an error at TAILBOX_PATH (the cause sing-box names)
#                 start            (with SINGBOX start-fail) exits 0 with a warning at TAILBOX_PATH saying
#                                  sing-box check accepts it; `sb-route plan` (tailbox's start) exits 78
#                                  with the error at TAILBOX_PATH
#                 unsupported      exits 78 with "error: TAILBOX_PATH…: … not supported by tailbox"
#                 excluded         not run: an open disagreement, or a verdict sing-box cannot show offline
#                                  (NOTE says which); the test lists it
#   TAILBOX_PATH  the JSON path an sb-route error starts with; - on accept
# Whatever the expectation: sb-route never exits 70 nor dies of a signal, and each "[unsupported]"
# error names its JSON path, what is unsupported, and the words "not supported by tailbox".
# sing-box check runs without network (unshare -rn where it works) from a temp dir holding a copy of
# the file; YAML files are given to sing-box as JSON (python3 with PyYAML), since 1.13 reads JSON only.
. "$(dirname "$0")/lib.sh"
table=0
[ "${1:-}" = --table ] && table=1
sb=$(tool sb-route)
ref=${TB_SINGBOX:-$TB_SRC/build/singbox/sing-box}
[ -x "$ref" ] || skip "reference sing-box missing at $ref (built by make singbox)"
dir=$TB_FIXTURES/singbox/wild
exp=$dir/expected.tsv
[ -f "$exp" ] || fail "missing $exp"
netns=()
unshare -rn true 2>/dev/null && netns=(unshare -rn)
yaml_ok=0
python3 -c 'import yaml' 2>/dev/null && yaml_ok=1

declare -A e_sb e_cause e_tb e_path e_note
while IFS=$'\t' read -r f s c tb p note; do
  case $f in '' | '#'*) continue ;; esac
  [ -n "$p" ] || fail "expected.tsv: line for $f has fewer than 5 columns"
  e_sb[$f]=$s e_cause[$f]=$c e_tb[$f]=$tb e_path[$f]=$p e_note[$f]=$note
done <"$exp"

refcheck() {  # FILE: run the reference's check on a copy in $t/run; sets sb_rc, sb_out
  rm -rf "$t/run" && mkdir "$t/run"
  local base=${1##*/}
  case $base in
    *.yaml | *.yml)
      base=${base%.*}.json
      python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"))' \
        "$1" "$t/run/$base" || fail "${1##*/}: YAML to JSON failed" ;;
    *) cp "$1" "$t/run/$base" ;;
  esac
  sb_rc=0
  sb_out=$(cd "$t/run" && timeout 30 "${netns[@]}" "$ref" check --disable-color -c "$base" 2>&1) || sb_rc=$?
}

refrun() {  # BASE: `sing-box run` on $t/run/BASE until it fails at start (10 s at most); sets sb_out
  local rc=0
  sb_out=$(cd "$t/run" && timeout 10 "${netns[@]}" "$ref" run --disable-color -c "$1" 2>&1) || rc=$?
  [ $rc -eq 1 ] || fail "${1}: sing-box run exit $rc, expected 1 (a failure at start): $sb_out"
}

first_error() {  # OUTPUT: sing-box's fatal error; a deprecation's FATAL follows the ERROR that names it
  local err fatal
  err=$(grep -m1 '^ERROR' <<<"$1" | sed -E 's/^ERROR\[[0-9]+\] //') || true
  fatal=$(grep -m1 '^FATAL' <<<"$1" | sed -E 's/^FATAL\[[0-9]+\] //') || true
  case $fatal in "to continuing using this feature"*) echo "$err ($fatal)" ;; *) echo "$fatal" ;; esac
}

n=0 nx=0 rows=()
declare -A count
for f in "$dir"/*.json "$dir"/*.yaml "$dir"/*.yml; do
  [ -e "$f" ] || continue
  name=${f##*/}
  [ -n "${e_tb[$name]+x}" ] || fail "$name: no line in expected.tsv"
  want_tb=${e_tb[$name]}
  if [ "$want_tb" = excluded ]; then
    echo "excluded: $name (${e_note[$name]})" >&2
    nx=$((nx + 1)); count[excluded]=$((${count[excluded]:-0} + 1))
    rows+=("| \`$name\` | – | – | excluded: ${e_note[$name]} |")
    continue
  fi
  # The reference.
  case $name in *.yaml | *.yml) [ $yaml_ok = 1 ] || skip "python3 with PyYAML needed for $name" ;; esac
  refcheck "$f"
  [ $sb_rc -le 1 ] || fail "$name: sing-box check exit $sb_rc: $sb_out"
  sb_got=accept; [ $sb_rc -eq 0 ] || sb_got=refuse
  want_sb=${e_sb[$name]}
  [ "$want_sb" != start-fail ] || [ $sb_rc -ne 0 ] || sb_got=start-fail
  [ "$sb_got" = "$want_sb" ] || fail "$name: sing-box check: $sb_got, expected $want_sb: $sb_out"
  sb_err=$(first_error "$sb_out")
  if [ "$sb_got" = start-fail ]; then
    if [ ${#netns[@]} -gt 0 ]; then
      refrun "$(ls "$t/run")"
      sb_err=$(first_error "$sb_out")
      grep -qF -- "${e_cause[$name]}" <<<"$sb_err" ||
        fail "$name: sing-box run's start error lacks '${e_cause[$name]}': $sb_err"
    else
      echo "$name: no network namespace here (unshare -rn), sing-box run not tried" >&2
    fi
  elif [ "$sb_got" = refuse ]; then
    grep -qF -- "${e_cause[$name]}" <<<"$sb_err" ||
      fail "$name: sing-box's first error lacks '${e_cause[$name]}': $sb_err"
  fi
  # sb-route.
  rc=0; "$sb" check -c "$f" 2>"$t/err" || rc=$?
  [ $rc -ne 70 ] || fail "$name: sb-route internal error (exit 70): $(cat "$t/err")"
  [ $rc -lt 128 ] || fail "$name: sb-route died of signal $((rc - 128)): $(cat "$t/err")"
  while IFS= read -r line; do
    grep -qE '^sb-route: error: [A-Za-z_$][A-Za-z0-9_]*(\[[0-9]+\])?(\.[A-Za-z0-9_]+(\[[0-9]+\])?)*: .+ not supported by tailbox' \
      <<<"$line" || fail "$name: unsupported refusal without path, type or wording: $line"
  done < <(grep -F '[unsupported]' "$t/err" || true)
  p=${e_path[$name]}
  case $want_tb in
    accept) [ $rc -eq 0 ] || fail "$name: sb-route check exit $rc, expected 0: $(cat "$t/err")" ;;
    start)
      [ $rc -eq 0 ] || fail "$name: sb-route check exit $rc, expected 0 (a warning): $(cat "$t/err")"
      grep -F -- "warning: $p" "$t/err" | grep -qF '(sing-box check accepts this;' ||
        fail "$name: no sb-route start warning at $p: $(cat "$t/err")"
      rc=0; "$sb" plan -c "$f" </dev/null >/dev/null 2>"$t/err" || rc=$?
      [ $rc -eq 78 ] || fail "$name: sb-route plan exit $rc, expected 78: $(cat "$t/err")"
      grep -qF -- "error: $p" "$t/err" || fail "$name: no sb-route plan error at $p: $(cat "$t/err")" ;;
    same | unsupported)
      [ $rc -eq 78 ] || fail "$name: sb-route check exit $rc, expected 78: $(cat "$t/err")"
      grep -F -- "error: $p" "$t/err" >"$t/at" || fail "$name: no sb-route error at $p: $(cat "$t/err")"
      [ "$want_tb" = same ] || grep -qF 'not supported by tailbox' "$t/at" ||
        fail "$name: no unsupported refusal at $p: $(cat "$t/err")" ;;
    *) fail "$name: expected.tsv: unknown tailbox verdict '$want_tb'" ;;
  esac
  case $sb_got/$want_tb in
    accept/accept) cat="accepted by both" ;;
    refuse/same) cat="refused by both, same cause" ;;
    start-fail/start) cat="accepted by both checks (sb-route's with a warning); refused by both at start, same cause" ;;
    accept/unsupported) cat="refused by tailbox only, as unsupported" ;;
    refuse/unsupported) cat="refused by both; tailbox: unsupported" ;;
    *) fail "$name: expected.tsv encodes a disagreement ($sb_got/$want_tb); exclude the file instead" ;;
  esac
  count[$cat]=$((${count[$cat]:-0} + 1))
  why=$(sed -E 's/^decode config at [^:]*: //; s/, checkout (documentation for )?migration: [^ ]*//' <<<"${sb_err:-–}")
  [ "$p" = - ] || why="$why; sb-route: \`$p\`"
  shown=$sb_got
  [ "$sb_got" != start-fail ] || shown="accept (run fails at start)"
  rows+=("| \`$name\` | $shown | $cat | ${why//|/\\|} |")
  n=$((n + 1))
done
[ $n -ge 40 ] || fail "only $n configs checked (at least 40 wanted)"
{
  echo "# sing-box's verdict and sb-route's on real configs"
  echo
  echo "Generated by \`tests/cli/sb-route-wild.sh --table > docs/wild-configs.md\` (the test fails when this page"
  echo "is out of date). The configs, their sources and what was replaced in them:"
  echo "\`tests/fixtures/singbox/wild/INDEX.md\`; the expected outcomes: \`tests/fixtures/singbox/wild/expected.tsv\`."
  echo "Each file is checked with the reference \`sing-box check\` (1.13.19, built by \`make singbox\`) and with"
  echo "\`sb-route check\`. Outcomes:"
  echo
  echo "- **accepted by both**;"
  echo "- **refused by both, same cause**: sb-route's error names the path sing-box's first error names;"
  echo "- **refused by tailbox only, as unsupported**: sing-box accepts, sb-route refuses with the JSON path, the"
  echo "  type and \"not supported by tailbox\" (docs/singbox.md says what tailbox supports);"
  echo "- **refused by both; tailbox: unsupported**: sing-box refuses the element that sb-route refuses as"
  echo "  unsupported (an outbound tailbox has no dialer for, missing its TLS server name, say);"
  echo "- **accepted by both checks (sb-route's with a warning); refused by both at start, same cause**:"
  echo "  sing-box check accepts (it does not start) and \`sing-box run\` fails at start looking up a tag;"
  echo "  sb-route check warns at the same path and exits 0, and \`sb-route plan\` (tailbox's start, as for"
  echo "  decide, explain and sb-relay: loading the config) refuses it with the same cause;"
  echo "- **excluded**: not checked, for the reason given (an open disagreement, or a verdict that cannot be"
  echo "  shown offline)."
  echo
  for k in "accepted by both" "refused by both, same cause" "refused by tailbox only, as unsupported" \
    "refused by both; tailbox: unsupported" \
    "accepted by both checks (sb-route's with a warning); refused by both at start, same cause" excluded; do
    echo "- $k: ${count[$k]:-0}"
  done
  echo
  echo "| File | sing-box check | Outcome | sing-box's first error; sb-route's path |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$t/table.md"
if [ $table = 1 ]; then
  cat "$t/table.md"
elif [ -f "$TB_SRC/docs/wild-configs.md" ]; then
  diff -u "$TB_SRC/docs/wild-configs.md" "$t/table.md" >&2 ||
    fail "docs/wild-configs.md is out of date: tests/cli/sb-route-wild.sh --table > docs/wild-configs.md"
fi
echo "ok: $n configs agree with sing-box check ($nx excluded)" >&2
