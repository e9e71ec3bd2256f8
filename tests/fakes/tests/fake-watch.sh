#!/usr/bin/env bash
# watch-ipn-bus on the fake: headers flushed at once, the initial Notify follows the mask, changes
# made through the control socket arrive as the Notify a real daemon sends, bad masks are 400,
# a cut stream ends mid-line.
. "$(dirname "$0")/lib.sh"
start_fake

# Bad masks.
[ "$(code "$api/watch-ipn-bus?mask=abc")" = 400 ] && [ "$(cat "$t/body")" = "bad mask" ] || fail "non-decimal mask"
[ "$(code "$api/watch-ipn-bus?mask=-1")" = 400 ] || fail "negative mask"
[ "$(code "$api/watch-ipn-bus?mask=65536")" = 400 ] || fail "mask 65536"
for b in 4096 8192 16384 32768; do
  [ "$(code "$api/watch-ipn-bus?mask=$((256 | b))")" = 400 ] || fail "mask 256|$b accepted"
done

# Headers are flushed before any Notify: with mask 16 nothing is sent, yet curl sees 200 at once.
curl -sS -N -D "$t/h16" -o /dev/null --max-time 1 --unix-socket "$FAKE_SOCK" "$api/watch-ipn-bus?mask=16" 2>/dev/null || true
grep -q '^HTTP/1.1 200' "$t/h16" || fail "watch headers not flushed: $(cat "$t/h16")"
grep -qi '^Transfer-Encoding: chunked' "$t/h16" || fail "watch not chunked"

# mask 2|4|16|128|4096: one initial line with State, SessionID, Prefs and Health; always-null keys present.
watch_open $((2 | 4 | 16 | 128 | 4096))
stream_line
echo "$LINE" >"$t/first"
jq -e '.State == 6 and (.SessionID | length) > 0 and .Prefs.WantRunning == true and .Health.Warnings == null' "$t/first" >/dev/null \
  || fail "initial Notify: $LINE"
jq -e 'has("ErrMessage") and has("LoginFinished") and has("NetMap") and has("Engine") and has("BrowseToURL") and has("DriveShares") and .NetMap == null' "$t/first" >/dev/null \
  || fail "always-present keys missing: $LINE"
[ "$(jq -c 'keys_unsorted[0:3]' "$t/first")" = '["Version","SessionID","ErrMessage"]' ] || fail "key order"

# A peer going offline -> PeersChanged (mask 4096); status agrees.
fake_ctl '/peer?name=peer1&online=false' >/dev/null
stream_line
echo "$LINE" | jq -e '.PeersChanged[0].Hostinfo.Hostname == "peer1" and .PeersChanged[0].Online == false and .State == null' >/dev/null \
  || fail "PeersChanged: $LINE"
lapi /localapi/v0/status | jq -e '.Peer[] | select(.HostName == "peer1") | .Online == false' >/dev/null || fail "status disagrees"

# Removal -> PeersRemoved with the NodeID.
id=$(lapi /localapi/v0/status | jq '.Peer[] | select(.HostName == "peer2") | .NodeID')
fake_ctl '/peer/remove?name=peer2' >/dev/null
stream_line
[ "$(echo "$LINE" | jq -c .PeersRemoved)" = "[$id]" ] || fail "PeersRemoved: $LINE"

# down via control: State 4, then Health (mask 128 was set).
fake_ctl '/state?value=Stopped' >/dev/null
stream_line
echo "$LINE" | jq -e '.State == 4' >/dev/null || fail "State 4: $LINE"
stream_line
echo "$LINE" | jq -e '.Health.Warnings["wantrunning-false"].Text == "Tailscale is stopped."' >/dev/null || fail "Health: $LINE"
lapi /localapi/v0/status | jq -e '.BackendState == "Stopped" and .Health == ["Tailscale is stopped."]' >/dev/null || fail "status after Stopped"

# PATCH WantRunning=true: Prefs, State 5, State 6 (no runtime NetMap).
lapi /localapi/v0/prefs -X PATCH -d '{"WantRunning":true,"WantRunningSet":true}' >/dev/null
stream_until '.Prefs.WantRunning == true'
stream_line; echo "$LINE" | jq -e '.State == 5' >/dev/null || fail "State 5: $LINE"
stream_line; echo "$LINE" | jq -e '.State == 6 and .NetMap == null' >/dev/null || fail "State 6: $LINE"

# A second watcher with mask 0 gets nothing initially, but the next change.
exec {first_fd}<&"$STREAM_FD"
watch_open 0
fake_ctl '/wait-watchers?n=2&timeout_ms=5000' >/dev/null
fake_ctl '/state?value=Stopped' >/dev/null
stream_line
echo "$LINE" | jq -e '.State == 4 and (has("SessionID") | not) and .Prefs == null' >/dev/null || fail "mask 0 watcher: $LINE"

# Cut streams: half a line, then EOF.
fake_ctl /cut-streams >/dev/null
LINE=""
if read -r -t 5 -u "$STREAM_FD" LINE; then fail "cut stream delivered a whole line: $LINE"; fi
[ -n "$LINE" ] || fail "cut stream delivered nothing"
echo "$LINE" | jq -e . >/dev/null 2>&1 && fail "half line parses as JSON"
[ "${LINE:0:12}" = '{"Version":"' ] || fail "half line: $LINE"

# Closed clients are noticed: after the cut no watcher remains.
lapi /localapi/v0/status >/dev/null
for _ in $(seq 1 50); do
  [ "$(fake_ctl /state -X GET | jq .watchers)" = 0 ] && break
  fake_ctl '/wait-watchers?n=99&timeout_ms=100' >/dev/null || true  # bounded wait, 100 ms
done
[ "$(fake_ctl /state -X GET | jq .watchers)" = 0 ] || fail "watchers not released"

stop_fake
echo ok
