#!/usr/bin/env bash
# Every long option in a tool's --help (and each subcommand's) is documented in its man page,
# and every option the page documents exists in --help. scripts/tailbox-healthcheck and
# scripts/tailbox-proxy are checked too.
set -euo pipefail
bin=${TB_BIN:?TB_BIN not set}; src=${TB_SRC:?TB_SRC not set}
status=0 checked=0
for tool in ts-status ts-auth sb-route sb-relay tailbox-healthcheck tailbox-proxy; do
  exe="$bin/$tool/$tool"; page="$src/man/$tool.1"
  [ -x "$exe" ] || exe="$src/scripts/$tool"   # the scripts are checked the same way
  [ -x "$exe" ] || continue
  [ -f "$page" ] || { echo "FAIL: $tool has no man page"; status=1; continue; }
  subs=$("$exe" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
  help_opts=$( { "$exe" --help; for s in $subs; do "$exe" "$s" --help; done; } |
    grep -E '^ +-' | grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u)
  # Options a page documents are the tagged lines after .TP (.B/.BI/.BR).
  man_opts=$(awk '/^\.TP/{getline; print}' "$page" | grep -E '^\.B[IR]? ' | sed 's/\\-/-/g' |
    grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  missing_in_man=$(comm -23 <(echo "$help_opts") <(echo "$man_opts"))
  missing_in_help=$(comm -13 <(echo "$help_opts") <(echo "$man_opts"))
  if [ -n "$missing_in_man" ]; then echo "FAIL: $tool --help options missing from $tool.1:" $missing_in_man; status=1; fi
  if [ -n "$missing_in_help" ]; then echo "FAIL: $tool.1 documents options --help lacks:" $missing_in_help; status=1; fi
  checked=$((checked + 1))
  echo "checked $tool: $(echo "$help_opts" | wc -l) options"
done
[ "$checked" -gt 0 ] || { echo "FAIL: no tool binary found in $bin"; exit 1; }
exit $status
