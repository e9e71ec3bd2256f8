#!/usr/bin/env bash
# The named-pipe transport under wine (transport_test.exe: requests, keep-alive, chunked bodies,
# statuses, no pipe, a busy pipe, timeouts, streams, cancel, nested calls), against pipe servers
# in its own process. Its output names each check.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
exe=$(win_tool tests/windows/transport_test.exe)
rc=0; timeout 90 wine "$exe" </dev/null >"$t/out" 2>&1 || rc=$?
cat "$t/out"
[ "$rc" = 0 ] || fail "transport_test.exe exited $rc"
