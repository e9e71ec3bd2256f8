#!/usr/bin/env bash
# Every shell script under scripts/ (a #!…sh or #!…bash first line) passes shellcheck at every
# severity, style included; a finding that is right to keep carries a `# shellcheck disable=SCnnnn`
# directive with its reason on the line above. tailbox-proxy and tailbox-healthcheck are installed
# programs; the others are the build's and CI's.
. "$(dirname "$0")/lib.sh"
command -v shellcheck >/dev/null || skip "shellcheck not installed (scripts/install-deps.sh)"
scripts=()
while IFS= read -r -d '' f; do
  head -1 "$f" | grep -Eq '^#!.*\b(ba)?sh\b' && scripts+=("$f")
done < <(find "$TB_SRC/scripts" -type f -print0 | sort -z)
[ "${#scripts[@]}" -ge 5 ] || fail "only ${#scripts[@]} shell scripts found under scripts/: ${scripts[*]}"
for need in tailbox-proxy tailbox-healthcheck install-deps.sh; do
  printf '%s\n' "${scripts[@]}" | grep -q "/scripts/$need\$" || fail "scripts/$need was not checked"
done
shellcheck --severity=style --external-sources "${scripts[@]}" >"$t/sc" 2>&1 || fail "shellcheck: $(cat "$t/sc")"
# Every directive says why (a comment on the line above).
for f in "${scripts[@]}"; do
  awk -v f="$f" '/^[[:space:]]*# shellcheck disable=/ && prev !~ /^[[:space:]]*#/ { print f ":" NR ": a directive without a reason above it"; bad=1 }
                 { prev=$0 } END { exit bad }' "$f" >>"$t/directives" || true
done
[ ! -s "$t/directives" ] || fail "$(cat "$t/directives")"
echo "ok: ${#scripts[@]} scripts"
