#!/usr/bin/env bash
# The exit-code enum (libcommon/core/exit_code.hpp) and man/tailbox.7's table must agree, in both
# directions, value by value.
set -euo pipefail
src=${TB_SRC:?TB_SRC not set}
enum=$(sed -n '/enum class ExitCode/,/};/p' "$src/libcommon/core/exit_code.hpp" | grep -oE '= [0-9]+' | awk '{print $2}' | sort -n)
names=$(sed -n '/exit_code_name/,/^}/p' "$src/libcommon/core/exit_code.cpp" | grep -oE 'return "[a-z_]+"' | awk -F'"' '{print $2}' | grep -v '^unknown$' | sort)
table=$(sed -n '/^\.TS/,/^\.TE/p' "$src/man/tailbox.7" | grep -E '^[0-9]+	' )
man_codes=$(echo "$table" | cut -f1 | sort -n)
man_names=$(echo "$table" | cut -f2 | sort)
[ -n "$enum" ] || { echo "FAIL: no codes found in exit_code.hpp"; exit 1; }
if [ "$enum" != "$man_codes" ]; then
  echo "FAIL: exit codes differ"; diff <(echo "$enum") <(echo "$man_codes") || true; exit 1
fi
if [ "$names" != "$man_names" ]; then
  echo "FAIL: exit code names differ"; diff <(echo "$names") <(echo "$man_names") || true; exit 1
fi
echo "ok: $(echo "$enum" | wc -l) exit codes agree between exit_code.hpp and tailbox.7"
