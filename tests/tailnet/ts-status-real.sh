#!/usr/bin/env bash
# ts-status against the real tailscaled and the real tailscale CLI, on the same socket:
# --json agrees with `tailscale status --json` (state, self IPs, every peer's name, IPs, online
# flag and exit-node option); --raw is the daemon's own document; check is OK on a healthy node
# and CRITICAL once the control server expired the keys; --format prometheus names every peer.
. "$(dirname "$0")/lib.sh"
ST=$(tool ts-status)

lab_up
node_login
# A peer marked offline must show as offline in both views, not only online ones.
lab admin online peer false >/dev/null
wait_for 10 sh -c '"$0" --socket="$1" status --json | jq -e "[.Peer[] | select(.HostName == \"peer\")][0].Online == false" >/dev/null' "$TS" "$NODE_SOCK"

real=$(ts_status node)
ours=$("$ST" --socket "$NODE_SOCK" --json) || fail "ts-status --json exited $?"

# The real CLI's view, in ts-status's terms.
want=$(jq -S '{
  state: (.BackendState | ascii_downcase | sub("needslogin"; "needs_login")),
  self_ips: .Self.TailscaleIPs,
  self_name: (.Self.DNSName | rtrimstr(".")),
  peers: ([.Peer[] | {name: (.DNSName | rtrimstr(".")), host: .HostName, ips: .TailscaleIPs,
                      online: .Online, exit_node_option: .ExitNodeOption}] | sort_by(.name))}' <<<"$real")
got=$(jq -S '{
  state: .state,
  self_ips: .self.ips,
  self_name: .self.dns_name,
  peers: ([.peers[] | {name: .dns_name, host: .host_name, ips: .ips, online: .online,
                       exit_node_option: .exit_node_option}] | sort_by(.name))}' <<<"$ours")
[ "$got" = "$want" ] || fail "ts-status --json disagrees with tailscale status --json:
$(diff <(echo "$want") <(echo "$got"))"
# Both peers are there, one offline and one an exit-node option: the comparison is not vacuous.
jq -e '[.peers[] | select(.host == "peer" and .online == false)] | length == 1' <<<"$got" >/dev/null ||
  fail "peer is not offline in ts-status: $got"
jq -e '[.peers[] | select(.host == "exit" and .online and .exit_node_option)] | length == 1' <<<"$got" >/dev/null ||
  fail "exit is not an online exit-node option in ts-status: $got"
[ "$(jq -r .version <<<"$ours")" = "$(jq -r .Version <<<"$real")" ] ||
  fail "version: ts-status says $(jq -r .version <<<"$ours"), the daemon $(jq -r .Version <<<"$real")"
[ "$(jq -r .magic_dns.suffix <<<"$ours")" = "$SUFFIX" ] || fail "magic_dns.suffix: $(jq -c .magic_dns <<<"$ours")"
[ "$(jq -r .tun <<<"$ours")" = true ] || fail "tun: kernel TUN expected: $(jq -c .tun <<<"$ours")"

# --raw is the daemon's document as the Local API serves it (the same keys and values; the
# counters and times that move between two reads are left out of the comparison).
volatile='del(.. | .RxBytes?, .TxBytes?, .LastSeen?, .LastWrite?, .LastHandshake?, .CurAddr?, .Active?, .Relay?, .Addrs?, .PeerRelay?, .InMagicSock?, .InEngine?, .KeyExpiry?, .Expired?)'
raw=$("$ST" --socket "$NODE_SOCK" --raw) || fail "ts-status --raw exited $?"
doc=$(lab_lapi node /localapi/v0/status)
[ "$(jq -S "$volatile" <<<"$raw")" = "$(jq -S "$volatile" <<<"$doc")" ] ||
  fail "--raw differs from the daemon's status document: $(diff <(jq -S "$volatile" <<<"$doc") <(jq -S "$volatile" <<<"$raw") | head -20)"

# Prometheus: every peer by name.
lab admin online peer true >/dev/null
prom=$("$ST" --socket "$NODE_SOCK" --format prometheus) || fail "ts-status --format prometheus exited $?"
for p in peer exit; do
  grep -q "^tailbox_peer_online{.*\"$p\"" <<<"$prom" || fail "prometheus output does not name $p: $(grep peer_online <<<"$prom")"
done
grep -q '^tailbox_up 1$' <<<"$prom" || fail "tailbox_up is not 1: $(grep tailbox_up <<<"$prom")"

# check: OK while healthy; CRITICAL once control expired the node's key.
# One run's exit status and its line together: the node's map poll to control is reopened now and
# then, and for that moment check rightly says WARNING "not connected to the control plane".
check_is() {  # WANT_RC PREFIX ARGS...: check exits WANT_RC and its first line starts with PREFIX
  local want=$1 prefix=$2 rc=0
  shift 2
  out=$("$ST" --socket "$NODE_SOCK" check "$@") || rc=$?
  [ "$rc" = "$want" ] && [[ $out == "$prefix"* ]]
}
wait_for 10 check_is 0 "TAILSCALE OK" --require-peer peer --require-peer exit
lab admin expire-keys >/dev/null
wait_for 15 check_is 2 "TAILSCALE CRITICAL"
echo "ok: ts-status agrees with the real daemon and CLI; check: $out"
