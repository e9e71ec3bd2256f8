#!/usr/bin/env bash
# The table for people: self first, peers sorted, health and expiry footers, colour only when
# allowed (NO_COLOR wins), --self=false, and a quiet exit on a closed pipe.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
start_fake --scenario "$TB_FIXTURES/scenarios/running-macos-v1.94.json"

"$ts" --socket "$FAKE_SOCK" >"$t/table"
head -1 "$t/table" | grep -Eq '^100\.[0-9.]+ +[^ ]+ +[^ ]+@ +macOS +-$' || fail "self row: $(head -1 "$t/table")"
grep -Eq 'offline, last seen [0-9dhms]+ ago$' "$t/table" || fail "offline peers: $(cat "$t/table")"
grep -q '^# Key expiry: ' "$t/table" || fail "key expiry footer"
grep -q $'\x1b' "$t/table" && fail "colour without a terminal"
# Forced colour, and NO_COLOR beating it.
"$ts" --socket "$FAKE_SOCK" --color always | contains $'\x1b\[' || fail "--color always"
NO_COLOR=1 "$ts" --socket "$FAKE_SOCK" --color always | contains $'\x1b' && fail "NO_COLOR ignored"
# --self=false drops the first row.
"$ts" --socket "$FAKE_SOCK" --self=false >"$t/noself"
[ "$(grep -c '^100\.' "$t/noself")" = "$(( $(grep -c '^100\.' "$t/table") - 1 ))" ] || fail "--self=false"
# No trailing blanks (unlike tabwriter).
grep -q ' $' "$t/table" && fail "trailing blanks"
# A closed pipe is quiet.
"$ts" --socket "$FAKE_SOCK" 2>"$t/err" | head -c 1 >/dev/null
[ ! -s "$t/err" ] || fail "closed pipe was noisy: $(cat "$t/err")"
echo ok
