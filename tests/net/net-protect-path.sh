#!/usr/bin/env bash
# protect_path, as sing-box does it (sing's common/control/protect_unix.go): before connecting, the
# socket's descriptor goes in SCM_RIGHTS to a Unix stream server, which answers one byte. Here the
# server is tests/net/protect-server.py, as Android's VpnService would be: it marks each socket
# with 0x80000, which tailscaled's rule 5210 sends to the main table, past the exit node's route.
#   - With the server: the protected connection leaves by wan0 (the inet server sees 198.18.0.1,
#     the WireGuard counters stay put) and the server saw one descriptor per connection.
#   - Without it (no socket, a server that refuses, one that never answers): that dial fails with
#     a clear error in the conn record, and nothing enters the tunnel: no fallback to an
#     unprotected socket.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/node-relay-lib.sh"  # watch_tun, tun_leaks

PSOCK=$t/protect.sock
cat >"$t/config.json" <<JSON
{
  "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 1080}],
  "outbounds": [{"type": "direct", "tag": "protected", "protect_path": "$PSOCK", "connect_timeout": "2s"}]
}
JSON
"$(tool sb-route)" check -c "$t/config.json" >/dev/null || fail "the test's config does not pass sb-route check"

tailnet_up
start_daemon
# The exit node, as tailscaled configures it (see net-mark.sh).
ip -n "$NS_NODE" route add default dev tailscale0 table 52
wg_ns "$NS_NODE" set tailscale0 peer "$PEER_PUB" allowed-ips "$PEER4/32,$PEER6/128,0.0.0.0/0,::/0"
watch_tun
# The watch sees what an unprotected socket sends: the control for every "nothing leaked" below.
! in_ns "$NS_NODE" curl -s --max-time 1 -o /dev/null "http://$INET4:8080/" || fail "an unprotected curl reached $INET4"
wait_for 5 test "$(tun_leaks "$INET4")" -gt 0
[[ $(in_ns "$NS_NODE" ip route get "$INET4") == *"dev tailscale0 table 52"* ]] ||
  fail "unmarked route to $INET4 is not the tunnel: $(in_ns "$NS_NODE" ip route get "$INET4")"

nprotect=0
start_protect_server() {  # [--refuse | --hang]
  local log=$t/protect$((++nprotect)).log  # a new file each time: no stale ready line
  python3 -u "$here/protect-server.py" "$PSOCK" 0x80000 "$@" >"$log" 2>"$t/protect.err" &
  PROTECT_PID=$!
  track_pid "$PROTECT_PID"
  wait_for 10 grep -q '"type": "ready"' "$log"
  ln -sf "$log" "$t/protect.log"
}
stop_protect_server() {
  kill "$PROTECT_PID"
  wait "$PROTECT_PID" 2>/dev/null || true
  rm -f "$PSOCK"
}
protect_count() { grep -c "\"type\": \"$1\"" "$t/protect.log" || true; }

start_protect_server
start_proxy -c "$t/config.json"

# Protected: marked by the server, out by wan0.
ninet=$(srv_requests inet | wc -l)
p0=$(tun_leaks "$INET4")
wan0=$(wan_tx)
get "http://$INET4:8080/" || fail "protected: $(cat "$t/curl.err"); proxy: $(tail -5 "$PROXY_ERR")"
[ "$BODY" = "inet saw 198.18.0.1" ] && [ "$(conn_field .outbound)" = protected ] || fail "protected: '$BODY' $CONN"
[ "$(protect_count protected)" = 1 ] || fail "protect server: expected one descriptor: $(cat "$t/protect.log")"
grep '"type": "protected"' "$t/protect.log" | jq -e '.family == "AF_INET" and .mark == 524288' >/dev/null ||
  fail "protect server: $(cat "$t/protect.log")"
p1=$(tun_leaks "$INET4")
[ "$p1" = "$p0" ] || fail "the protected request entered the tunnel: packets to $INET4 into tailscale0 $p0→$p1"
wan1=$(wan_tx)
[ $((wan1 - wan0)) -ge "$(conn_field .bytes_up)" ] || fail "the protected request did not leave by wan0 (tx +$((wan1 - wan0)))"
echo "ok protected: inet saw 198.18.0.1; one descriptor marked 0x80000; wan0 tx +$((wan1 - wan0)); nothing into tailscale0"

# A failed protection fails that dial, and nothing of it enters the tunnel or reaches the server.
no_leak() {  # WHAT ERROR_REGEX
  local p0 p1
  p0=$(tun_leaks "$INET4")
  ! get "http://$INET4:8080/" || fail "$1: the request went through: '$BODY' $CONN"
  [ "$(conn_field .outbound)" = protected ] || fail "$1: $CONN"
  [[ $(conn_field .error) =~ $2 ]] || fail "$1: expected an error matching '$2': $CONN"
  p1=$(tun_leaks "$INET4")
  [ "$p1" = "$p0" ] || fail "$1: the dial leaked into the tunnel: packets to $INET4 into tailscale0 $p0→$p1"
  [ "$(srv_requests inet | wc -l)" = $((ninet + 1)) ] || fail "$1: the inet server saw a request: $(srv_requests inet)"
  echo "ok $1: $(conn_field .error); nothing into tailscale0"
}

stop_protect_server
no_leak "no server" "^protect_path $PSOCK: connect: .*(No such file|refused)"

start_protect_server --refuse
no_leak "refusing server" "^protect_path $PSOCK: the server closed the connection without answering"
[ "$(protect_count refused)" = 1 ] || fail "refusing server: $(cat "$t/protect.log")"
stop_protect_server

start_protect_server --hang
start=$(date +%s%N)
no_leak "silent server" "^protect_path $PSOCK: no answer within 2000 ms"
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -lt 6000 ] || fail "silent server: the dial took $took ms (connect_timeout is 2 s)"
stop_protect_server

# And with the server back, the next connection is protected again.
start_protect_server
get "http://$INET4:8080/" || fail "protected again: $(cat "$t/curl.err")"
[ "$BODY" = "inet saw 198.18.0.1" ] || fail "protected again: '$BODY' $CONN"
echo "ok protected again"
stop_proxy
