#!/usr/bin/env bash
# fake_tailscaled's transport is tailscaled's: Host rule, Referer/Origin 403, reply headers,
# tab-indented status with a trailing newline, Go escaping, peers=false, per-endpoint status codes.
. "$(dirname "$0")/lib.sh"
start_fake


# Host must be local-tailscaled.sock or empty; Referer/Origin are refused.
[ "$(code http://example.com/localapi/v0/status)" = 403 ] || fail "foreign Host accepted"
[ "$(cat "$t/body")" = "invalid localapi request" ] || fail "403 body: $(cat "$t/body")"
[ "$(code -H 'Host;' http://x/localapi/v0/status)" = 200 ] || fail "empty Host refused"
[ "$(code -H 'Referer: http://evil/' $api/status)" = 403 ] || fail "Referer accepted"
[ "$(code -H 'Origin: http://evil' $api/status)" = 403 ] || fail "Origin accepted"

# Reply headers on every reply, including errors.
curl -sS -D "$t/h" -o /dev/null --unix-socket "$FAKE_SOCK" $api/nope
grep -q '^Tailscale-Version: 1\.102\.3-' "$t/h" || fail "no Tailscale-Version header"
grep -q '^Tailscale-Cap: [0-9]' "$t/h" || fail "no Tailscale-Cap header"
grep -q '^X-Frame-Options: DENY' "$t/h" || fail "no X-Frame-Options"
grep -q '^X-Content-Type-Options: nosniff' "$t/h" || fail "no nosniff"
grep -q "^Content-Security-Policy: default-src 'none'" "$t/h" || fail "no CSP"
grep -q '^HTTP/1.1 404' "$t/h" || fail "unknown endpoint not 404"
[ "$(lapi /localapi/v0/nope)" = "404 page not found" ] || fail "404 body"
lapi / | contains 'This is the local Tailscale daemon' || fail "GET / page"
[ "$(code http://local-tailscaled.sock/other)" = 404 ] || fail "non-localapi path not 404"

# Status: tab indentation, trailing newline, Go escaping of <>&, sorted nodekeys, 3 peers.
lapi /localapi/v0/status >"$t/status"
[ "$(tail -c 1 "$t/status" | od -An -c | tr -d ' ')" = '\n' ] || fail "status has no trailing newline"
[ "$(sed -n 2p "$t/status")" = "$(printf '\t"Version": "1.102.3-t1234567ab-g89abcdef0",')" ] || fail "not tab-indented: $(sed -n 2p "$t/status")"
grep -q 'Bob \\u003cOps\\u003e \\u0026 Co' "$t/status" || fail "Go escaping of <>& missing"
jq -e '.BackendState == "Running" and (.Peer | length) == 3 and (.Health == [])' "$t/status" >/dev/null || fail "status content"
jq -e '[.Peer | keys[] | test("^nodekey:[0-9a-f]{64}$")] | all' "$t/status" >/dev/null || fail "peer keys"
jq -e '(.Peer | keys) == (.Peer | keys | sort)' "$t/status" >/dev/null || fail "peer keys not sorted"

# peers=false: Peer null, User holds only the self user.
lapi '/localapi/v0/status?peers=false' >"$t/np"
jq -e '.Peer == null and (.User | keys) == [(.Self.UserID | tostring)]' "$t/np" >/dev/null || fail "peers=false: $(jq -c '{Peer,User}' "$t/np")"
lapi '/localapi/v0/status?peers=bogus' | jq -e '.Peer | length == 3' >/dev/null || fail "invalid peers= must default to true"

# Status codes per endpoint.
[ "$(code -X POST $api/start -d '{}')" = 204 ] || fail "start not 204"
[ "$(code $api/start)" = 400 ] && [ "$(cat "$t/body")" = "want POST" ] || fail "GET start: want POST"
[ "$(code $api/logout)" = 400 ] || fail "GET logout"
[ "$(code $api/login-interactive)" = 400 ] || fail "GET login-interactive"
[ "$(code $api/ping)" = 400 ] || fail "GET ping"
[ "$(code -X POST $api/prefs)" = 405 ] && [ "$(cat "$t/body")" = "unsupported method" ] || fail "POST prefs: 405"
[ "$(code $api/check-prefs)" = 405 ] || fail "GET check-prefs: 405"
[ "$(code -X POST -d '{}' $api/check-prefs)" = 200 ] && [ "$(cat "$t/body")" = "{}" ] || fail "check-prefs ok"
[ "$(code -X POST -d '{"ExitNodeID":"a","ExitNodeIP":"100.64.0.2"}' $api/check-prefs)" = 200 ] || fail "check-prefs error is 200"
jq -e '.Error | length > 0' "$t/body" >/dev/null || fail "check-prefs Error body"

# whois: hit, miss, bad input; tab-indented without trailing newline.
ip=$(jq -r '.Peer[] | select(.HostName == "peer1") | .TailscaleIPs[0]' "$t/status")
[ "$(code "$api/whois?addr=$ip:41641")" = 200 ] || fail "whois hit"
jq -e '.Node.Hostinfo.Hostname == "peer1" and .UserProfile.LoginName != ""' "$t/body" >/dev/null || fail "whois body"
[ "$(tail -c 1 "$t/body")" = "}" ] || fail "whois must have no trailing newline"
[ "$(code "$api/whois?addr=100.99.99.99")" = 404 ] && [ "$(cat "$t/body")" = "no match for IP:port" ] || fail "whois miss"
[ "$(code "$api/whois")" = 400 ] && [ "$(cat "$t/body")" = "missing 'addr' parameter" ] || fail "whois no addr"
[ "$(code "$api/whois?addr=bogus")" = 400 ] && [ "$(cat "$t/body")" = "invalid 'addr' parameter" ] || fail "whois bad addr"

# PATCH prefs: ...Set semantics, full prefs back, InternalExitNodePrior rejected as JSON.
[ "$(code -X PATCH -d '{"RunSSHSet":true,"RunSSH":true,"Hostname":"ignored"}' $api/prefs)" = 200 ] || fail "PATCH"
jq -e '.RunSSH == true and .Hostname == "" and .ControlURL != null' "$t/body" >/dev/null || fail "PATCH semantics"
[ "$(code -X PATCH -d '{"InternalExitNodePriorSet":true}' $api/prefs)" = 400 ] || fail "InternalExitNodePrior accepted"
jq -e '.Error | length > 0' "$t/body" >/dev/null || fail "PATCH error body"

# ping: a direct peer answers, an unknown IP has Err.
[ "$(code -X POST "$api/ping?ip=$ip&type=disco&size=0")" = 200 ] || fail "ping"
jq -e '.IP and .LatencySeconds > 0' "$t/body" >/dev/null || fail "ping body $(cat "$t/body")"

stop_fake
echo ok
