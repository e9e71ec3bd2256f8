#!/usr/bin/env bash
# `ts-status watch`: a status record first, then events and a new status after each change;
# deduplicated; survives a cut stream and a daemon restart; `watch | head -1` ends at once.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
start_fake --generate-peers 3

stream_open proc "$ts" --socket "$FAKE_SOCK" watch --interval 60s </dev/null
stream_line
echo "$LINE" | jq -e '.type == "status" and .state == "running" and (.peers | length) == 3' >/dev/null || fail "first line: $LINE"
# Wait until the watcher is subscribed before changing anything (no sleeps).
fake_ctl '/wait-watchers?n=1&timeout_ms=10000' >/dev/null || fail "watch never subscribed"

# A peer goes offline: a peer_offline event, then the new status.
fake_ctl '/peer?name=peer1&online=false' >/dev/null
stream_line
echo "$LINE" | jq -e '.type == "event" and .event == "peer_offline" and .peer == "peer1" and (.time | test("Z$"))' >/dev/null || fail "peer_offline: $LINE"
stream_line
echo "$LINE" | jq -e '.type == "status" and ([.peers[] | select(.name == "peer1")][0].online == false)' >/dev/null || fail "status after offline: $LINE"

# Only byte counters change: no new record. The next line must be the health event that follows.
fake_ctl '/peer?name=peer2&RxBytes=12345&TxBytes=999' >/dev/null
# A Notify that changes nothing (prefs edited to their current value) makes watch re-read the
# status; wait for that read in the fake's request log before the next change. The read's second
# request (dns-config) is slowed down, so the health change below lands while that read is still
# going: its record must not carry the new health (it would go out without the health event).
seen=$(wc -l <"$FAKE_LOG")
fake_ctl '/fault?kind=slow&ms=1500&count=1&path=dns-config' >/dev/null
lapi /localapi/v0/prefs -X PATCH -d '{"RunSSHSet":true,"RunSSH":false}' >/dev/null
grep -m1 -q '"method":"GET","path":"/localapi/v0/status"' < <(timeout 5 tail -n +"$((seen + 1))" -f "$FAKE_LOG") \
  || fail "watch did not re-read the status after a Notify"
fake_ctl '/health?msg=not%20in%20map%20poll' >/dev/null
stream_line
echo "$LINE" | jq -e '.event == "health" and .added == ["not in map poll"]' >/dev/null || fail "counters were not deduplicated, or no health event: $LINE"
stream_until '.type == "status" and .health == ["not in map poll"]'

# Direct <-> relay: a path event.
fake_ctl '/peer?name=peer3&direct=198.51.100.7:41641&active=true' >/dev/null
stream_until '.type == "status"'
fake_ctl '/peer?name=peer3&relay=fra&active=true' >/dev/null
stream_until '.event == "path" and .peer == "peer3" and .from == "direct" and .to == "relay"'
stream_until '.type == "status"'

# A peer appears and one goes away.
fake_ctl '/peer/add?name=newbox&os=linux&online=true' >/dev/null
stream_until '.event == "peer_added" and .peer == "newbox"'
stream_until '.type == "status"'
fake_ctl '/peer/remove?name=newbox' >/dev/null
stream_until '.event == "peer_removed" and .peer == "newbox"'
stream_until '.type == "status"'

# State change.
fake_ctl '/state?value=Stopped' >/dev/null
stream_until '.event == "state" and .from == "running" and .to == "stopped"'
stream_until '.type == "status" and .state == "stopped"'
fake_ctl '/state?value=Running' >/dev/null
stream_until '.type == "status" and .state == "running"'

# The stream is cut mid-line: no partial record, a daemon event, and the state is announced again.
fake_ctl '/cut-streams' >/dev/null
stream_until '.event == "daemon" and .reachable == false'
stream_until '.event == "daemon" and .reachable == true' 10
stream_until '.type == "status" and .state == "running"' 10

# The daemon goes away and comes back: unreachable status, then running again, without a restart.
fake_ctl '/go-away' >/dev/null
stream_until '.type == "status" and .state == "daemon_unreachable"' 15
fake_ctl '/come-back' >/dev/null
stream_until '.type == "status" and .state == "running"' 15
kill -0 "$STREAM_PID" 2>/dev/null || fail "watch exited on its own"

# Every line on stdout was complete JSON with v and type.
kill "$STREAM_PID"

# A closed pipe: `watch | head -1` returns at once (not at the next change).
start=$(date +%s%N)
timeout 5 bash -c "'$ts' --socket '$FAKE_SOCK' watch --interval 60s | head -1 >'$t/head'"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
jq -e '.type == "status"' "$t/head" >/dev/null || fail "watch | head -1 printed: $(cat "$t/head")"
[ "$ms" -lt 4000 ] || fail "watch | head -1 took $ms ms"
echo ok
