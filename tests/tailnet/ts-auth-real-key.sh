#!/usr/bin/env bash
# ts-auth up with the lab's auth key against the real tailscaled, from each source: --auth-key-file,
# --auth-key - (stdin) and TS_AUTHKEY. Each reaches Running (as the real CLI and ts-status see it),
# and the key is never on ts-auth's stdout or stderr (at trace level), nor in the argv or the
# environment of any process while ts-auth waits (its own included: TS_AUTHKEY is erased), and
# ts-auth starts no process. The control server is frozen (SIGSTOP) after tailscaled took the key,
# so the processes are scanned while ts-auth is really waiting; ts-auth logout between sources.
. "$(dirname "$0")/lib.sh"
AUTH=$(tool ts-auth)
ST=$(tool ts-status)

lab_up
# Only the variant that means to passes the key in an environment; labcontrol has it on its command
# line (the lab starts it so), which is the one argv allowed to hold it.
export -n AUTH_KEY
(umask 077 && printf '%s\n' "$AUTH_KEY" >"$t/key")
LC_PID=$(cat "$LAB_DIR/pids/labcontrol")
[ "$(cat "/proc/$LC_PID/comm")" = labcontrol ] || fail "pids/labcontrol is not labcontrol: $(cat "/proc/$LC_PID/comm")"
# The key's random part alone, so that a partly printed key is caught too.
secret=${AUTH_KEY#tskey-auth-lab-}
[ ${#secret} -ge 20 ] || fail "unexpected key form: ${#AUTH_KEY} characters"
printf '%s\n' "$secret" >"$t/secret"
frozen=0
thaw() { if [ "$frozen" = 1 ]; then kill -CONT "$LC_PID"; frozen=0; fi; }
trap 'rc=$?; thaw; (exit "$rc"); _lab_cleanup' EXIT  # _lab_cleanup exits with the status it finds

# scan PID: every process's argv and environment, read by one python3 that gets the key from a file
# (a grep with the key as argument would itself be a leak); then PID's descendants. Prints leaks.
scan() {
  python3 - "$t/key" "$1" "$LC_PID" <<'PY'
import os, sys
key = open(sys.argv[1], 'rb').read().strip()
ours, lc, me = sys.argv[2], sys.argv[3], str(os.getpid())
parent, found = {}, []
for p in os.listdir('/proc'):
    if not p.isdigit() or p == me:
        continue
    try:
        stat = open(f'/proc/{p}/stat', 'rb').read()
        comm = open(f'/proc/{p}/comm').read().strip()
    except OSError:
        continue
    parent[p] = stat[stat.rindex(b')') + 2:].split()[1].decode()
    for f in ('cmdline', 'environ'):
        if f == 'cmdline' and p == lc:
            continue
        try:
            data = open(f'/proc/{p}/{f}', 'rb').read()
        except OSError:
            continue
        if key in data or key[len('tskey-auth-lab-'):] in data:
            found.append(f'the key is in /proc/{p}/{f} ({comm})')
kids, todo = [], [ours]
while todo:
    q = todo.pop()
    for p, pp in parent.items():
        if pp == q:
            kids.append(p)
            todo.append(p)
for p in kids:
    found.append(f'ts-auth started a process: {p}')
print('\n'.join(found))
PY
}

# variant NAME SOURCE CMD...: run CMD (ts-auth up; with TS_AUTHKEY in its environment for NAME env)
# with the control server frozen once tailscaled has been told to log in; scan; thaw; Running.
variant() {
  local name=$1 source=$2 leaks i
  shift 2
  lab_lapi node /localapi/v0/prefs | jq -e '.WantRunning == false' >/dev/null || fail "$name: node already wants to run"
  kill -STOP "$LC_PID"
  frozen=1
  if [ "$name" = env ]; then TS_AUTHKEY=$AUTH_KEY stream_open "$name" "$@"; else stream_open "$name" "$@"; fi
  stream_until 'select(.type == "state" and .state == "needs_login")' 10
  # start has been served (WantRunning): tailscaled holds the key and waits on the frozen control.
  wait_for 10 sh -c '"$0" --socket="$1" debug prefs | jq -e ".WantRunning and (.LoggedOut | not)" >/dev/null' "$TS" "$NODE_SOCK"
  for i in 1 2 3; do
    kill -0 "$STREAM_PID" 2>/dev/null || fail "$name: ts-auth is no longer waiting: $(cat "$STREAM_ERR")"
    leaks=$(scan "$STREAM_PID")
    [ -z "$leaks" ] || fail "$name: $leaks"
    sleep 0.2
  done
  kill -0 "$STREAM_PID" 2>/dev/null || fail "$name: ts-auth ended during the scan (it was not waiting): $(cat "$STREAM_ERR")"
  thaw
  stream_until 'select(.type == "up")' 10
  stream_exit 0
  jq -e --arg s "$source" '.state == "running" and .auth_key_source == $s and .auth_url == null' <<<"$LINE" >/dev/null ||
    fail "$name: final record: $LINE"
  grep -qF -f "$t/key" "$STREAM_OUT" "$STREAM_ERR" && fail "$name: the key is in ts-auth's output"
  grep -qF -f "$t/secret" "$STREAM_OUT" "$STREAM_ERR" && fail "$name: part of the key is in ts-auth's output"
  [ "$(state_of node)" = Running ] || fail "$name: the real CLI says $(state_of node)"
  "$ST" --socket "$NODE_SOCK" --json | jq -e '.state == "running" and (.self.ips | length) > 0' >/dev/null ||
    fail "$name: ts-status: $("$ST" --socket "$NODE_SOCK" --json | head -c 300)"
  # Back to logged out for the next source.
  "$AUTH" --socket "$NODE_SOCK" logout >/dev/null 2>"$t/logout.err" || fail "$name: logout: $(cat "$t/logout.err")"
  wait_for 10 state_is node NeedsLogin
}

up=("$AUTH" --socket "$NODE_SOCK" --log-level trace --json up --control-url "$CONTROL_URL" --timeout 30s --qr never)
variant file --auth-key-file "${up[@]}" --auth-key-file "$t/key"
variant stdin "standard input" "${up[@]}" --auth-key - <"$t/key"
variant env TS_AUTHKEY "${up[@]}"
echo "ok: --auth-key-file, --auth-key - and TS_AUTHKEY reach Running; the key is in no output, argv or environment"
