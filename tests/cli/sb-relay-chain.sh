#!/usr/bin/env bash
# Upstream chaining: sb-relay's socks outbound (SOCKS5 with username/password) pointing at
# microsocks. curl → sb-relay → microsocks → a local http.server; microsocks' own log shows it
# carried the request, and with microsocks stopped the same request fails with the dial-failure
# answer of each protocol (SOCKS5 reply 5, HTTP 502).
# The name that socks5h passes on unresolved, chain-target.test, is resolved by microsocks itself:
# microsocks runs in a mount namespace of its own where /etc/hosts (and nsswitch.conf, "files")
# are the test's, which name only 127.0.0.1. Nothing depends on this machine's /etc/hosts (with
# Debian's standard one, microsocks took "localhost" for ::1, where the HTTP server is not).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$(dirname "$0")/relay-lib.sh"
command -v microsocks >/dev/null || skip "microsocks missing (apt-get install microsocks)"

start_http 127.0.0.1
name=chain-target.test
printf '127.0.0.1\tlocalhost %s\n' "$name" >"$t/hosts"
printf 'hosts: files\n' >"$t/nsswitch.conf"
# as_root: unshare --mount as root, else in a user namespace (where this kernel allows one).
as_root=()
[ "$(id -u)" = 0 ] || as_root=(--user --map-root-user)
unshare "${as_root[@]}" --mount true 2>"$t/ns.err" ||
  skip "no mount namespace for microsocks' own /etc/hosts: $(cat "$t/ns.err")"
# A free loopback port for microsocks (it cannot be told to pick one and say which).
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# unshare and sh exec: $! is microsocks itself.
unshare "${as_root[@]}" --mount sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"' \
  - "$t/hosts" "$t/nsswitch.conf" microsocks -i 127.0.0.1 -p "$mport" -u chainuser -P chain-pw >"$t/ms.log" 2>&1 &
ms_pid=$!
track_pid "$ms_pid"
accepts() { kill -0 "$ms_pid" && timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mport"; }
wait_for 10 accepts

cat >"$t/chain.json" <<JSON
{
  "inbounds": [{"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": 0}],
  "outbounds": [
    {"type": "socks", "tag": "upstream", "server": "127.0.0.1", "server_port": $mport, "version": "5",
     "username": "chainuser", "password": "chain-pw"},
    {"type": "direct", "tag": "direct"}
  ],
  "route": {"final": "upstream"}
}
JSON
start_relay r --threads 1 --events close -c "$t/chain.json"
p=$RELAY_PORT
n=0
for proxy in socks5h socks5 http; do
  host=127.0.0.1
  [ "$proxy" = socks5h ] && host=$name
  code=$(curl -sS --max-time 10 -o "$t/body" -w '%{http_code}' --proxy "$proxy://127.0.0.1:$p" "http://$host:$HTTP_PORT/hello.txt") ||
    fail "$proxy through microsocks: curl failed; relay: $(cat "$t/r.err"); microsocks: $(cat "$t/ms.log")"
  [ "$code" = 200 ] && [ "$(cat "$t/body")" = "hello from tailbox" ] || fail "$proxy through microsocks: $code $(cat "$t/body")"
  n=$((n + 1))
done
wait_conns r "$n"
# microsocks logs each client it connects ("client[N] IP: connected to HOST:PORT").
[ "$(grep -c "connected to .*:$HTTP_PORT" "$t/ms.log")" = "$n" ] ||
  fail "microsocks did not log $n connections to :$HTTP_PORT: $(cat "$t/ms.log")"
# The name went upstream unresolved (socks5h), so microsocks saw it.
grep -q "connected to $name:$HTTP_PORT" "$t/ms.log" || fail "the name was not passed on unresolved: $(cat "$t/ms.log")"
conn_records r | jq -se --argjson hp "$HTTP_PORT" '
  length == 3 and all(.outbound == "upstream" and .error == null and .bytes_down > 0 and .destination.port == $hp)' >/dev/null ||
  fail "conn records: $(conn_records r)"
! grep -q "chain-pw" "$t/r.out" "$t/r.err" || fail "the upstream password leaked into the output"

# A detour chains outbounds as in sing-box: "outer" reaches its server (microsocks again) through
# "upstream", so microsocks carries a connection to itself and, inside it, the one to the origin.
# A detour to a block outbound blocks (the upstream is never dialled directly).
cat >"$t/detour.json" <<JSON
{
  "inbounds": [{"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": 0}],
  "outbounds": [
    {"type": "socks", "tag": "outer", "server": "127.0.0.1", "server_port": $mport, "detour": "upstream",
     "username": "chainuser", "password": "chain-pw"},
    {"type": "socks", "tag": "upstream", "server": "127.0.0.1", "server_port": $mport,
     "username": "chainuser", "password": "chain-pw"},
    {"type": "http", "tag": "walled", "server": "127.0.0.1", "server_port": $mport, "detour": "wall"},
    {"type": "block", "tag": "wall"}
  ],
  "route": {"rules": [{"domain": "walled.test", "outbound": "walled"}], "final": "outer"}
}
JSON
start_relay d --threads 1 --events close -c "$t/detour.json"
before=$(grep -c "connected to 127.0.0.1:$mport" "$t/ms.log" || true)
curl -sS --max-time 10 -o "$t/body" --proxy "socks5h://127.0.0.1:$RELAY_PORT" "http://$name:$HTTP_PORT/hello.txt" ||
  fail "through the detour chain: curl failed; relay: $(cat "$t/d.err"); microsocks: $(cat "$t/ms.log")"
[ "$(cat "$t/body")" = "hello from tailbox" ] || fail "through the detour chain: $(cat "$t/body")"
[ "$(grep -c "connected to 127.0.0.1:$mport" "$t/ms.log")" = $((before + 1)) ] ||
  fail "microsocks did not carry the hop to itself: $(cat "$t/ms.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$RELAY_PORT" "http://walled.test/") || true
[ "$code" = 403 ] || fail "detour to a block outbound: want 403, got $code"
wait_conns d 2
conn_records d | jq -se 'map(select(.outbound == "walled")) | length == 1 and (.[0].error | test("blocked by outbound wall"))' \
  >/dev/null || fail "walled conn record: $(conn_records d)"
kill "$RELAY_PID"

# Without microsocks the upstream dial is refused: SOCKS5 reply 5, HTTP 502, and an error record.
kill "$ms_pid"
timeout 5 tail --pid="$ms_pid" -f /dev/null || fail "microsocks did not stop"
gone() { ! timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mport" 2>/dev/null; }
wait_for 5 gone
rc=0; curl -sS --max-time 10 --proxy "socks5h://127.0.0.1:$p" "http://$name:$HTTP_PORT/hello.txt" 2>"$t/e1" || rc=$?
[ "$rc" != 0 ] || fail "socks5 succeeded with microsocks stopped"
grep -q "(5)" "$t/e1" || fail "microsocks stopped, socks5: want reply 5, got: $(cat "$t/e1")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$p" "http://$name:$HTTP_PORT/hello.txt") || true
[ "$code" = 502 ] || fail "microsocks stopped, http: want 502, got $code"
wait_conns r 5
conn_records r | jq -se 'map(select(.error != null)) | length == 2 and all(.outbound == "upstream")' >/dev/null ||
  fail "error records: $(conn_records r)"
echo ok
