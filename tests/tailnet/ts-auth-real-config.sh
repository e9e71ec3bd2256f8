#!/usr/bin/env bash
# ts-auth up -c config.json (a sing-box tailscale endpoint, with comments and trailing commas) against
# the real daemon: control_url, auth_key, hostname, advertise_tags, exit_node (by name: "exit", the
# lab's approved exit node, resolved once Running) and accept_routes reach the daemon's prefs as the
# real CLI shows them (tailscale debug prefs, and the exit node in tailscale status); the fields
# absent are cleared (no advertised routes, no LAN access); ephemeral is in the "ignored" list with
# its reason, and a warning on stderr.
. "$(dirname "$0")/lib.sh"
AUTH=$(tool ts-auth)

lab_up
exit_id=$(ts_status exit --peers=false | jq -r .Self.ID)
[ -n "$exit_id" ] && [ "$exit_id" != null ] || fail "the exit node has no ID"
(umask 077 && cat >"$t/config.json" <<JSON
{
  "log": {"level": "warn"},
  "endpoints": [
    {
      "type": "tailscale",
      "tag": "ts-ep",
      "control_url": "$CONTROL_URL",
      "auth_key": "$AUTH_KEY", // the key may live in the config
      "hostname": "edge-lab",
      "advertise_tags": ["server"],
      "exit_node": "exit",
      "accept_routes": true,
      "ephemeral": true,
    },
  ],
}
JSON
)
rc=0
timeout 40 "$AUTH" --socket "$NODE_SOCK" --json up -c "$t/config.json" --timeout 30s >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 0 ] || fail "ts-auth up -c exited $rc: $(cat "$t/err")"
jq -s -e --arg c "config $t/config.json (endpoint ts-ep)" 'last | .type == "up" and .state == "running" and .changed == true
  and .auth_key_source == $c and ([.ignored[].option] == ["ephemeral"])
  and (.ignored[0].reason | contains("auth key"))' "$t/out" >/dev/null || fail "final record: $(tail -1 "$t/out")"
grep -q "warning: ephemeral is not applied in daemon-only mode" "$t/err" || fail "no ephemeral warning: $(cat "$t/err")"
(umask 077 && printf '%s\n' "$AUTH_KEY" >"$t/key")  # grep -f: not the key on a command line
grep -qF -f "$t/key" "$t/out" "$t/err" && fail "the key is in the output"
[ "$(state_of node)" = Running ] || fail "state: $(state_of node)"

# The daemon's prefs, as the real CLI prints them.
prefs=$(ts node debug prefs)
jq -e --arg c "$CONTROL_URL" --arg x "$exit_id" '.ControlURL == $c and .Hostname == "edge-lab"
  and .AdvertiseTags == ["tag:server"] and .RouteAll == true and .ExitNodeID == $x
  and .ExitNodeAllowLANAccess == false and ((.AdvertiseRoutes // []) == []) and .WantRunning == true' <<<"$prefs" >/dev/null ||
  fail "prefs: $(jq -c '{ControlURL, Hostname, AdvertiseTags, RouteAll, ExitNodeID, ExitNodeIP, ExitNodeAllowLANAccess, AdvertiseRoutes, WantRunning}' <<<"$prefs") (exit node ID $exit_id)"
# The Local API agrees with the CLI, and the status names the exit node in use.
[ "$(lab_lapi node /localapi/v0/prefs | jq -c '[.Hostname, .AdvertiseTags, .RouteAll, .ExitNodeID]')" = \
  "$(jq -c '[.Hostname, .AdvertiseTags, .RouteAll, .ExitNodeID]' <<<"$prefs")" ] || fail "Local API prefs differ from the CLI's"
wait_for 10 sh -c '"$0" --socket="$1" status --json | jq -e --arg x "$2" ".ExitNodeStatus.ID == \$x" >/dev/null' "$TS" "$NODE_SOCK" "$exit_id"
ts_status node | jq -e '[.Peer[] | select(.ExitNode) | .HostName] == ["exit"]' >/dev/null ||
  fail "tailscale status: exit is not the exit node in use: $(ts_status node | jq -c '[.Peer[] | {HostName, ExitNode}]')"
echo "ok: $(jq -c '{Hostname, AdvertiseTags, RouteAll, ExitNodeID}' <<<"$prefs"); ignored: $(tail -1 "$t/out" | jq -c '[.ignored[].option]')"
