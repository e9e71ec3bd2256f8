#!/usr/bin/env bash
# The bash and zsh completions of the four tools: bash completes subcommands, options, option values
# and file arguments (checked by calling each completion function as bash would), zsh files parse
# (zsh -n, when zsh is installed), and every long option of each tool's --help (and its subcommands')
# appears in both completion files, and every option they offer exists: they cannot drift.
. "$(dirname "$0")/lib.sh"
comp_dir=$TB_SRC/completions
tools=(ts-status ts-auth sb-route sb-relay)

for tool in "${tools[@]}"; do
  [ -f "$comp_dir/bash/$tool" ] || fail "no bash completion for $tool"
  [ -f "$comp_dir/zsh/_$tool" ] || fail "no zsh completion for $tool"
  bash -n "$comp_dir/bash/$tool" || fail "bash completion for $tool does not parse"
  head -1 "$comp_dir/zsh/_$tool" | contains -x "#compdef $tool" || fail "_$tool does not start with #compdef $tool"
done

# comp WORD...: the words of the command line, the last one being completed (bash splits at = and :,
# so "--color=" is given as --color =). Prints the candidates, one line, space-separated.
cat >"$t/drive.sh" <<'DRIVE'
for f in "$COMP_DIR"/bash/*; do . "$f"; done
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
fn=$(complete -p "$1" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || { echo "no completion function for $1"; exit 1; }
COMPREPLY=()
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
echo "${COMPREPLY[*]}"
DRIVE
expect_comp() {  # WANT WORD...
  local want=$1 got
  shift
  got=$(cd "$t" && COMP_DIR=$comp_dir bash "$t/drive.sh" "$@" 2>&1) || fail "completing '$*' failed: $got"
  [ "$got" = "$want" ] || fail "completing '$*': got '$got', want '$want'"
}

mkdir -p "$t/dir"
: >"$t/config.json"; : >"$t/dir/conf.yaml"

expect_comp "check" ts-status ch
expect_comp "check watch wait ping exit-nodes" ts-status ""
expect_comp "--json" ts-status --js
expect_comp "--warn-expiry --warn-health" ts-status check --warn
expect_comp "--for" ts-status wait --f
expect_comp "auto never always" ts-status --color ""
expect_comp "auto never always" ts-status --color =
expect_comp "prometheus prom" ts-status --format pro
expect_comp "running" ts-status wait --for r
expect_comp "config.json" ts-status --output con
expect_comp "up url" ts-auth u
expect_comp "up set logout url" ts-auth ""
expect_comp "disco TSMP ICMP" ts-status ping --type ""
expect_comp "--until-direct" ts-status ping --until
expect_comp "--probe --probe-timeout" ts-status exit-nodes --pro
expect_comp "auto:any none" ts-auth set --exit-node ""
expect_comp "--auth-key --auth-key-file" ts-auth up --auth-key
expect_comp "- file:" ts-auth up --auth-key ""
expect_comp "config.json" ts-auth up --auth-key file : con
expect_comp "config.json" ts-auth up -c con
expect_comp "always" ts-auth up --qr al
expect_comp "check explain decide format plan schema" sb-route ""
expect_comp "plan" sb-route pl
expect_comp "--json" sb-route check --j
expect_comp "--find-process" sb-route decide --fi
expect_comp "config.json" sb-route -c con
expect_comp "stdin" sb-route -c std
expect_comp "dir/conf.yaml" sb-route format -c dir/co
expect_comp "dir" sb-route -C di
expect_comp "tcp udp icmp" sb-route explain --network ""
expect_comp "--events --exit-on-eof" sb-relay --e
expect_comp "none close all" sb-relay --events ""
expect_comp "config.json" sb-relay -c con

# Peer names come from the running daemon (ts-status --json, jq): here the stand-in's peer1…peer3.
if command -v jq >/dev/null && [ -x "$TB_BIN/ts-status/ts-status" ] && [ -x "$TB_FAKES/fake_tailscaled" ]; then
  start_fake
  mkdir -p "$t/path"
  ln -s "$TB_BIN/ts-status/ts-status" "$t/path/ts-status"
  PATH=$t/path:$PATH TS_SOCKET=$FAKE_SOCK expect_comp "peer1 peer2 peer3" ts-status check --require-peer pe
  PATH=$t/path:$PATH TS_SOCKET=$FAKE_SOCK expect_comp "peer2" ts-status wait --for peer : peer2
  stop_fake
fi

# No drift: every long option of --help is offered, and every option offered exists.
checked=0
for tool in "${tools[@]}"; do
  exe=$TB_BIN/$tool/$tool
  [ -x "$exe" ] || continue
  subs=$("$exe" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
  help_opts=$( { "$exe" --help; for s in $subs; do "$exe" "$s" --help; done; } |
    grep -E '^ +-' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  for f in "$comp_dir/bash/$tool" "$comp_dir/zsh/_$tool"; do
    offered=$(grep -v '^ *#' "$f" | grep -oE -- '(^|[^a-z0-9-])--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    missing=$(comm -23 <(echo "$help_opts") <(echo "$offered"))
    unknown=$(comm -13 <(echo "$help_opts") <(echo "$offered"))
    [ -z "$missing" ] || fail "$f lacks options of $tool --help:" $missing
    [ -z "$unknown" ] || fail "$f offers options $tool --help does not have:" $unknown
    for s in $subs; do
      grep -qE "(^|[^a-z-])$s([^a-z-]|$)" "$f" || fail "$f lacks the subcommand $s"
    done
  done
  checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || skip "no tool built in $TB_BIN: only the completion functions were checked"

if command -v zsh >/dev/null; then
  for tool in "${tools[@]}"; do
    zsh -n "$comp_dir/zsh/_$tool" || fail "_$tool: zsh -n failed"
  done
else
  echo "note: zsh not installed, zsh -n not run (scripts/install-deps.sh installs it)"
fi
echo "ok: $checked tools"
