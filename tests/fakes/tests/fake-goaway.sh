#!/usr/bin/env bash
# The fake daemon goes away (socket deleted, streams dropped) and comes back, by control call and by
# a timed return; SIGTERM removes both sockets.
. "$(dirname "$0")/lib.sh"
start_fake

watch_open 2
stream_line
echo "$LINE" | jq -e '.State == 6' >/dev/null || fail "initial state: $LINE"

fake_ctl /go-away >/dev/null
[ ! -e "$FAKE_SOCK" ] || fail "socket still exists while away"
rc=0; lapi /localapi/v0/status >/dev/null 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "connect should fail while away (curl rc $rc)"
# The stream was dropped: EOF without a further line.
if read -r -t 5 -u "$STREAM_FD" LINE; then fail "stream still delivering: $LINE"; fi
fake_ctl /state -X GET | jq -e '.away == true and .watchers == 0' >/dev/null || fail "summary while away"

fake_ctl /come-back >/dev/null
[ -S "$FAKE_SOCK" ] || fail "socket not recreated"
[ "$(stat -c %a "$FAKE_SOCK")" = 666 ] || fail "socket mode $(stat -c %a "$FAKE_SOCK")"
lapi /localapi/v0/status | jq -e '.BackendState == "Running"' >/dev/null || fail "status after coming back"

# Timed return: away now, back after 300 ms; a watcher on the new socket proves it.
fake_ctl '/go-away?back_after_ms=300' >/dev/null
rc=0; lapi /localapi/v0/status >/dev/null 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "connect should fail right after go-away (curl rc $rc)"
back=0
for _ in $(seq 1 100); do  # each round blocks on the control socket for up to 50 ms
  if [ -S "$FAKE_SOCK" ]; then back=1; break; fi
  fake_ctl '/wait-watchers?n=99&timeout_ms=50' >/dev/null || true
done
[ "$back" = 1 ] || fail "did not come back within ~5 s"
lapi /localapi/v0/status | jq -e '.Peer | length == 3' >/dev/null || fail "status after timed return"

ctl=$FAKE_CTL
stop_fake
[ ! -e "$ctl" ] || fail "control socket left behind"
echo ok
