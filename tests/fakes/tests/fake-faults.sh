#!/usr/bin/env bash
# Injected faults (slow, 403, 500, garbage) by control call, and a scenario timeline that changes
# the daemon on its own.
. "$(dirname "$0")/lib.sh"
start_fake

fake_ctl '/fault?kind=403&path=status' >/dev/null
[ "$(code $api/prefs)" = 200 ] || fail "fault hit the wrong endpoint"
[ "$(code $api/status)" = 403 ] || fail "403 fault"
[ "$(code $api/status)" = 200 ] || fail "403 fault was not one-shot"

fake_ctl '/fault?kind=500&body=boom' >/dev/null
[ "$(code $api/prefs)" = 500 ] && [ "$(cat "$t/body")" = boom ] || fail "500 fault"

fake_ctl '/fault?kind=garbage&count=2' >/dev/null
[ "$(code $api/status)" = 200 ] || fail "garbage is 200"
jq -e . "$t/body" >/dev/null 2>&1 && fail "garbage parsed as JSON"
[ "$(code $api/status)" = 200 ] && ! jq -e . "$t/body" >/dev/null 2>&1 || fail "garbage count=2"
[ "$(code $api/status)" = 200 ] && jq -e . "$t/body" >/dev/null || fail "garbage outlived count"

# Slow: a 0.3 s client timeout fires on a 3 s delay; the next request is fast again.
fake_ctl '/fault?kind=slow&ms=3000&path=status' >/dev/null
rc=0; curl -sS -o /dev/null --max-time 0.3 --unix-socket "$FAKE_SOCK" $api/status 2>/dev/null || rc=$?
[ "$rc" = 28 ] || fail "slow fault: curl rc $rc, want 28 (timeout)"
curl -sS -o /dev/null --max-time 2 --unix-socket "$FAKE_SOCK" $api/prefs || fail "slow fault leaked"
stop_fake

# Timeline: peer1 goes offline at 200 ms and back at 400 ms, relayed then direct, health, new peer.
start_fake --scenario "$TB_FIXTURES/scenarios/flapping.json"
watch_open $((4096 | 128 | 16))
stream_line
echo "$LINE" | jq -e '.Health.Warnings == null' >/dev/null || fail "initial health: $LINE"
stream_until '.PeersChanged[0].Hostinfo.Hostname == "peer1" and .PeersChanged[0].Online == false'
stream_until '.PeersChanged[0].Hostinfo.Hostname == "peer1" and .PeersChanged[0].Online == true'
stream_until '.PeersChanged[0].Endpoints == ["198.51.100.20:41641"]'
lapi /localapi/v0/status | jq -e '.Peer[] | select(.HostName == "peer1") | .CurAddr == "198.51.100.20:41641" and .Active' >/dev/null || fail "status after direct"
stream_until '.Health.Warnings != null'
stream_until '.PeersChanged[0].Hostinfo.Hostname == "newbox"'
stream_until '.PeersRemoved != null'
# The restart at 1200 ms drops the stream.
if read -r -t 5 -u "$STREAM_FD" LINE; then
  while read -r -t 5 -u "$STREAM_FD" LINE; do :; done
fi
fake_ctl /state -X GET | jq -e '.peers == 3' >/dev/null || fail "peer count after add/remove"
stop_fake
echo ok
