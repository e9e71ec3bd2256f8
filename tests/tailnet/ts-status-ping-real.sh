#!/usr/bin/env bash
# ts-status ping, exit-nodes --probe and --format prometheus --probe against the real tailscaled:
#   - ping reaches the peer over DERP or directly, and --until-direct stops at a direct pong whose
#     endpoint is the peer's lab address (10.99.0.3:41641); `tailscale ping` says the same;
#   - exit-nodes lists the lab's exit node (online, IPs as `tailscale status` has them, not in use)
#     and --probe measures it; without the suggest-exit-node capability the daemon suggests nothing;
#   - --format prometheus --probe passes promtool check metrics and carries each peer's latency
#     and path, peers_connected{path="direct"} and the last handshake's time;
#   - with the peer's tailscaled stopped, ping gets no reply (exit 1); an unknown name is 65.
. "$(dirname "$0")/lib.sh"
ST=$(tool ts-status)
command -v promtool >/dev/null || skip "promtool is not installed (Debian: prometheus; scripts/install-deps.sh)"

lab_up
node_login

out=$("$ST" --socket "$NODE_SOCK" ping peer --count 20 --interval 200ms --until-direct --json) ||
  fail "ping --until-direct exited $?: $out"
last=$(tail -1 <<<"$out")
jq -e --arg ip "$PEER4" '.type == "ping" and .ip == $ip and .path == "direct" and .endpoint == "10.99.0.3:41641"
       and .latency_seconds > 0 and .error == null' <<<"$last" >/dev/null || fail "last pong: $last"
jq -se 'all(.[]; .path == "direct" or (.path == "relay" and (.derp_region | type) == "string") or .error != null)' <<<"$out" >/dev/null ||
  fail "pong paths: $out"
real=$(ts node ping --c 3 peer 2>&1) || fail "tailscale ping: $real"
grep -q "via 10.99.0.3:41641 in" <<<"$real" || fail "tailscale ping disagrees: $real"
txt=$("$ST" --socket "$NODE_SOCK" ping "peer.$SUFFIX" --count 1) || fail "ping by FQDN exited $?"
[[ $txt =~ ^pong\ from\ peer\ \($PEER4\)\ via\ 10\.99\.0\.3:41641\ in\ [0-9.]+ms$ ]] || fail "text: $txt"
echo "ok: ping: $(jq -c '{path, endpoint, latency_seconds}' <<<"$last"); tailscale ping: $(tail -1 <<<"$real")"

rec=$("$ST" --socket "$NODE_SOCK" exit-nodes --json --probe) || fail "exit-nodes exited $?"
want_ips=$(ts_status node | jq -c '[.Peer[] | select(.HostName == "exit")][0].TailscaleIPs')
jq -e --argjson ips "$want_ips" '.current == null and .auto == null and .suggested == null and
       (.nodes | length) == 1 and .nodes[0].name == "exit" and .nodes[0].online and .nodes[0].ips == $ips
       and (.nodes[0].current | not) and .nodes[0].error == null and .nodes[0].latency_seconds > 0
       and (.nodes[0].path == "direct" or .nodes[0].path == "relay")' <<<"$rec" >/dev/null || fail "exit-nodes: $rec"
echo "ok: exit-nodes --probe: $(jq -c '.nodes[0] | {name, online, path, latency_seconds}' <<<"$rec")"

# A TSMP ping goes through WireGuard (a handshake); disco pings do not.
tsmp=$("$ST" --socket "$NODE_SOCK" ping peer --type TSMP --count 1 --json) || fail "TSMP ping exited $?: $tsmp"
jq -e '.error == null and .latency_seconds > 0' <<<"$tsmp" >/dev/null || fail "TSMP: $tsmp"
prom=$("$ST" --socket "$NODE_SOCK" --format prometheus --probe --probe-budget 8s) || fail "--format prometheus --probe exited $?"
promtool check metrics <<<"$prom" >"$t/lint" 2>&1 || fail "promtool check metrics: $(cat "$t/lint")"
for p in peer exit; do
  grep -Eq "^tailbox_peer_latency_seconds\{peer=\"$p\",.*,path=\"(direct|relay)\"\} [0-9.e-]+$" <<<"$prom" ||
    fail "no latency for $p: $(grep latency <<<"$prom")"
  grep -q "^tailbox_peer_probe_success{peer=\"$p\",.*} 1$" <<<"$prom" || fail "probe_success for $p: $(grep probe_success <<<"$prom")"
done
grep -q '^tailbox_peer_path{peer="peer",.*,path="direct"} 1$' <<<"$prom" || fail "peer's path: $(grep peer_path <<<"$prom")"
grep -Eq '^tailbox_peers_connected\{path="direct"\} [1-9]' <<<"$prom" || fail "peers_connected: $(grep peers_connected <<<"$prom")"
grep -Eq '^tailbox_peer_last_handshake_timestamp_seconds\{peer="peer",.*\} [0-9]{10}$' <<<"$prom" || fail "handshake: $(grep handshake <<<"$prom")"
echo "ok: prometheus --probe: $(grep -c '^tailbox_peer_latency_seconds{' <<<"$prom") latencies, promtool clean"

expect_exit 65 "$ST" --socket "$NODE_SOCK" ping nosuchpeer 2>/dev/null
lab stop peer
expect_exit 1 "$ST" --socket "$NODE_SOCK" ping "$PEER4" --count 2 --interval 0 --timeout 1s >"$t/out" 2>"$t/err"
grep -q "no reply from" "$t/err" || fail "no-reply message: $(cat "$t/err") $(cat "$t/out")"
echo "ok: a stopped peer: no reply, exit 1"
