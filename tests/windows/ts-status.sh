#!/usr/bin/env bash
# ts-status.exe under wine, on the real daemon's pipe name, against the named-pipe stand-in
# (pipe_server.exe): for every status capture, the Linux ts-status reads it from the fake on a Unix
# socket, the pipe server serves the very documents the fake sent (status, dns-config), and the
# Windows --json record, stderr and exit status equal the Linux ones; --raw is the document byte for byte, and each
# request carried tailscaled's Host and capability. With no pipe: exit 69 and one line naming the
# pipe, as on Linux for a missing socket.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
linux=$(tool ts-status)
win=$(win_tool cmd/ts-status/ts-status.exe)
default_pipe='\\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled'

n=0
for fixture in "$TB_FIXTURES"/localapi/status-*.json; do
  name=$(basename "$fixture")
  printf '{"status": "%s"}\n' "$fixture" >"$t/scenario.json"
  start_fake --scenario "$t/scenario.json"
  want=0; "$linux" --socket "$FAKE_SOCK" --json >"$t/linux.json" 2>"$t/linux.err" || want=$?
  lapi /localapi/v0/status >"$t/doc.json"
  dns=()  # the DNS config the fake gave a running node (ts-status adds it to the record), else a 404
  code=$(lapi /localapi/v0/dns-config -o "$t/dns.json" -w '%{http_code}')
  [ "$code" = 200 ] && dns=(--dns-config "$(winpath "$t/dns.json")")
  stop_fake

  start_pipe_server --status "$(winpath "$t/doc.json")" "${dns[@]}"
  rc=0; wine_run "$win" --json >"$t/win.json" 2>"$t/win.err" || rc=$?
  [ "$rc" = "$want" ] || fail "$name: exit $rc under wine, $want on Linux ($(cat "$t/win.err"))"
  cmp -s "$t/linux.json" "$t/win.json" || fail "$name: --json differs: $(diff "$t/linux.json" "$t/win.json" | head -c 600)"
  cmp -s "$t/linux.err" "$t/win.err" || fail "$name: stderr differs: $(cat "$t/win.err")"
  wine_run "$win" --raw >"$t/raw" 2>"$t/raw.err" || true
  cmp -s "$t/raw" "$t/doc.json" || fail "$name: --raw is not the document ($(cat "$t/raw.err"))"
  stop_pipe_server
  grep -q '^GET /localapi/v0/status host=local-tailscaled.sock cap=131$' "$PIPE_LOG" \
    || fail "$name: requests were: $(cat "$PIPE_LOG")"
  n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "only $n fixtures found"

# --socket names the pipe; the large document arrives chunked.
fixture=$TB_FIXTURES/localapi/status-running-linux-v1.94-tagged-self-subnet-routers-offline-peers-health-warning.json
start_pipe_server --status "$(winpath "$fixture")" --pipe '\\.\pipe\tailbox-test'
wine_run "$win" --socket '\\.\pipe\tailbox-test' --json >"$t/named.json" || fail "--socket with a pipe name"
jq -e '.state == "running" and (.peers | length) > 0' "$t/named.json" >/dev/null || fail "--socket: $(cat "$t/named.json")"
# A reader that has gone away: exit 141 without a word, as on Linux (Windows says EINVAL there).
{ rc=0; wine_run "$win" --socket '\\.\pipe\tailbox-test' --json 2>"$t/gone.err" || rc=$?; echo "$rc" >"$t/gone.rc"; } | :
[ "$(cat "$t/gone.rc")" = 141 ] || fail "reader gone: exit $(cat "$t/gone.rc"), want 141 ($(cat "$t/gone.err"))"
[ ! -s "$t/gone.err" ] || fail "reader gone: stderr: $(cat "$t/gone.err")"
stop_pipe_server

# No pipe: exit 69, one line on stderr naming the pipe, with the Windows hint; --json still prints
# its record with the same error.
rc=0; wine_run "$win" >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 69 ] || fail "no pipe: exit $rc, want 69 ($(cat "$t/err"))"
want_err="ts-status: cannot connect to tailscaled at $default_pipe: no such pipe (is the Tailscale service running?)"
[ "$(cat "$t/err")" = "$want_err" ] || fail "no pipe: stderr is: $(cat "$t/err")"
[ ! -s "$t/out" ] || fail "no pipe: stdout: $(cat "$t/out")"
rc=0; wine_run "$win" --json >"$t/out.json" 2>/dev/null || rc=$?
[ "$rc" = 69 ] || fail "no pipe, --json: exit $rc"
jq -e '.state == "daemon_unreachable" and (.error | contains("no such pipe"))' "$t/out.json" >/dev/null \
  || fail "no pipe, --json: $(cat "$t/out.json")"
# A Unix socket path on Windows: tailscaled listens only on its pipe there, so --socket is taken as
# a pipe name and does not exist.
rc=0; wine_run "$win" --socket /var/run/tailscale/tailscaled.sock >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 69 ] || fail "unix path on Windows: exit $rc ($(cat "$t/err"))"
