#!/usr/bin/env bash
# The lab itself: `lab up` prints one JSON object with the documented keys, the nodes are what the
# interface promises (node logged out; peer and exit Running, exit an exit-node option with its
# subnet advertised), and `lab down` leaves no namespace, process or /etc/netns entry behind:
# after a good up, after a second down, and after an up that failed half-way.
. "$(dirname "$0")/lib.sh"

leftovers() {  # DIR PREFIX: what a lab in DIR left on the machine
  local dir=$1 pfx=$2
  ip netns list | awk '{print $1}' | grep "^$pfx-" | sed 's/^/namespace /' || true
  ls -d /etc/netns/"$pfx"-* 2>/dev/null | sed 's/^/file /' || true
  pgrep -af -- "$dir" | grep -v -e pgrep -e "$$" | sed 's/^/process /' || true
}
prefix_of() { printf 'tbl%s' "$(printf '%s' "$1" | md5sum | cut -c1-6)"; }

lab_up
for k in version control_url auth_key tailscale suffix nodes; do
  jq -e --arg k "$k" 'has($k)' <<<"$LAB" >/dev/null || fail "lab up: no \"$k\" in $LAB"
done
[ "$(jq -r .version <<<"$LAB")" = "$(sed -n 's/^require tailscale.com v//p' "$TB_SRC/tests/tailnet/go.mod")" ] ||
  fail "version $(jq -r .version <<<"$LAB") is not go.mod's"
[ "$(jq -r '.nodes | keys | join(",")' <<<"$LAB")" = "exit,node,peer" ] || fail "nodes: $(jq -c .nodes <<<"$LAB")"
for n in node peer exit; do
  jq -e --arg n "$n" '.nodes[$n] | has("netns") and has("socket") and has("ips") and has("dns_name")' <<<"$LAB" >/dev/null ||
    fail "node $n: $(jq -c --arg n "$n" '.nodes[$n]' <<<"$LAB")"
done
[ "$("$TS" version | head -1)" = "$(jq -r .version <<<"$LAB")" ] || fail "the CLI says $("$TS" version | head -1)"
state_is node NeedsLogin || fail "node starts in $(state_of node), not NeedsLogin"
state_is peer Running || fail "peer is $(state_of peer)"
[ "$(jq -r .nodes.peer.dns_name <<<"$LAB")" = "peer.$SUFFIX" ] || fail "peer's dns_name: $(jq -r .nodes.peer.dns_name <<<"$LAB")"
st=$(ts_status peer)
jq -e '[.Peer[] | select(.HostName == "exit" and .ExitNodeOption)] | length == 1' <<<"$st" >/dev/null ||
  fail "exit is not an exit-node option: $(jq -c '[.Peer[] | {HostName, ExitNodeOption}]' <<<"$st")"
lab admin nodes | jq -e '.[] | select(.name == "exit") | .advertised_routes | index("10.77.0.0/24")' >/dev/null ||
  fail "exit does not advertise 10.77.0.0/24: $(lab admin nodes)"
# The host's own /etc/resolv.conf is untouched; the node's tailscaled wrote its own copy.
before=$(sha1sum </etc/resolv.conf)
node_login
wait_for 10 grep -q "nameserver 100.100.100.100" "$LAB_DIR/node/etc/resolv.conf"
[ "$(sha1sum </etc/resolv.conf)" = "$before" ] || fail "the host's /etc/resolv.conf changed"
[ ! -e /etc/resolv.pre-tailscale-backup.conf ] || fail "tailscaled wrote a backup into the host's /etc"
in_node getent hosts "peer.$SUFFIX" | contains "$(jq -r '.nodes.peer.ips[0]' <<<"$LAB")" ||
  fail "the node's namespace does not resolve peer.$SUFFIX through tailscaled's resolv.conf"

pfx=$(prefix_of "$LAB_DIR")
[ -n "$(leftovers "$LAB_DIR" "$pfx")" ] || fail "the leftover check sees nothing of a running lab"
lab down
_lab_up=0
[ -z "$(leftovers "$LAB_DIR" "$pfx")" ] || fail "after lab down: $(leftovers "$LAB_DIR" "$pfx")"
lab down || fail "a second lab down failed"

# An up that fails half-way (here: a control server that never starts) cleans up after itself.
mkdir -p "$t/badbin"
cp "$LAB_BIN/tailscaled" "$LAB_BIN/tailscale" "$t/badbin/"
printf '#!/bin/sh\necho "labcontrol: broken on purpose" >&2\nexit 1\n' >"$t/badbin/labcontrol"
chmod +x "$t/badbin/labcontrol"
rc=0
LAB_BIN=$t/badbin bash "$TB_SRC/tests/tailnet/lab" up "$t/bad" >"$t/bad.out" 2>"$t/bad.err" || rc=$?
[ "$rc" = 1 ] || fail "a failed up exited $rc, want 1: $(cat "$t/bad.err")"
[ ! -s "$t/bad.out" ] || fail "a failed up printed on stdout: $(cat "$t/bad.out")"
grep -q "labcontrol's ready line" "$t/bad.err" || fail "a failed up does not say what failed: $(cat "$t/bad.err")"
[ -z "$(leftovers "$t/bad" "$(prefix_of "$t/bad")")" ] || fail "after a failed up: $(leftovers "$t/bad" "$(prefix_of "$t/bad")")"
echo "ok: lab up as documented; lab down and a failed up leave nothing behind"
