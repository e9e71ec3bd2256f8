# shellcheck shell=bash disable=SC2034,SC2154  # $t comes from tests/cli/lib.sh; variables are for the tests
# Sourced by every tests/tailnet/*.sh (the ctest glob skips this file). It sources tests/cli/lib.sh
# (fail, skip, wait_for, wait_exit, track_pid, stream_open, …) and brings up a real tailnet with tests/tailnet/lab:
# tailscaled, the tailscale CLI and tailscale's test control server, built from tailscale.com at the
# version pinned in go.mod. The lab exits 77 with the reason where this machine cannot run it (not
# root, no TUN, no Go); the test then skips with that reason.
#
#   lab_up [--userspace]        lab up in $t/lab; sets LAB (the JSON), CONTROL_URL AUTH_KEY TS (the real
#                               CLI) SUFFIX, NODE_NS NODE_SOCK PEER_NS PEER_SOCK EXIT_NS EXIT_SOCK
#                               PEER4 PEER6 EXIT4 (node is logged out)
#   lab ARGS...                 tests/tailnet/lab ARGS... with DIR filled in (lab stop node, lab admin online …)
#   ts NODE ARGS...             the real tailscale CLI against NODE's daemon
#   node_login [ARGS...]        log node in with the real CLI and the lab's auth key; waits for Running
#   node_ip4                    the node's tailnet IPv4 address
#   in_node CMD...              run CMD in the node's namespace
#   ts_status NODE [ARGS...]    `tailscale status --json` of NODE
#   lab_lapi NODE PATH [CURL…]  curl NODE's Local API, prints the body
#   hold_start HOST PORT        a SOCKS5 CONNECT through the node's 127.0.0.1:1080, granted and held
#                               open until hold_end (which waits for its conn record)
#   start_proxy, stop_proxy, get, conn_field, generation: the pipeline in the node's namespace
#                               against its real tailscaled (tests/net/proxy-lib.sh; after lab_up)
#   get_ts URL REGEX [SECS]     get URL until it is answered through the tailscale endpoint (ts-ep)
#                               with a body matching REGEX, or fail after SECS (default 10): a plan
#                               that knows the newest tailnet state may still be on its way
#   PEER_SAW                    the REGEX of the peer's answer to a node's tailnet address
#   peer_by_every_name          the peer through the proxy by its FQDN (seeing the node's IPv4),
#                               short name, IPv4 and IPv6 address, each through ts-ep
#
# The lab is taken down by the EXIT trap, before lib.sh's own clean-up removes $t.

_lab_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_lab_here/../cli/lib.sh"
. "$_lab_here/../net/proxy-lib.sh"

export LAB_BIN=${LAB_BIN:-$TB_SRC/build/tailnet}
LAB_DIR=$t/lab
_lab_up=0

_lab_cleanup() {
  local rc=$?
  set +e
  if [ "$_lab_up" = 1 ]; then
    # Processes the test started inside a lab namespace go with it: `lab down` kills every PID
    # in them before it removes the namespaces.
    bash "$_lab_here/lab" down "$LAB_DIR" >&2
  fi
  (exit "$rc")
  _tb_cleanup
}
trap _lab_cleanup EXIT

lab() {
  local cmd=$1
  shift
  bash "$_lab_here/lab" "$cmd" "$LAB_DIR" "$@"
}

lab_up() {
  local rc=0
  _lab_up=1
  LAB=$(bash "$_lab_here/lab" up "$LAB_DIR" "$@" 2>"$t/lab-up.err") || rc=$?
  case $rc in
    0) ;;
    77) skip "the tailnet lab cannot run here: $(tail -1 "$t/lab-up.err")" ;;
    *) fail "lab up failed ($rc): $(cat "$t/lab-up.err")" ;;
  esac
  CONTROL_URL=$(jq -r .control_url <<<"$LAB")
  AUTH_KEY=$(jq -r .auth_key <<<"$LAB")
  TS=$(jq -r .tailscale <<<"$LAB")
  SUFFIX=$(jq -r .suffix <<<"$LAB")
  NODE_NS=$(jq -r .nodes.node.netns <<<"$LAB")
  NODE_SOCK=$(jq -r .nodes.node.socket <<<"$LAB")
  PEER_NS=$(jq -r .nodes.peer.netns <<<"$LAB")
  PEER_SOCK=$(jq -r .nodes.peer.socket <<<"$LAB")
  EXIT_NS=$(jq -r .nodes.exit.netns <<<"$LAB")
  EXIT_SOCK=$(jq -r .nodes.exit.socket <<<"$LAB")
  PEER4=$(jq -r '.nodes.peer.ips[] | select(contains("."))' <<<"$LAB")
  PEER6=$(jq -r '.nodes.peer.ips[] | select(contains(":"))' <<<"$LAB")
  EXIT4=$(jq -r '.nodes.exit.ips[] | select(contains("."))' <<<"$LAB")
  NS_NODE=$NODE_NS DAEMON_SOCK=$NODE_SOCK  # for proxy-lib.sh
  export CONTROL_URL AUTH_KEY TS SUFFIX NODE_NS NODE_SOCK PEER_NS PEER_SOCK EXIT_NS EXIT_SOCK PEER4 PEER6 EXIT4
}

_lab_sock() {
  case $1 in node) echo "$NODE_SOCK" ;; peer) echo "$PEER_SOCK" ;; exit) echo "$EXIT_SOCK" ;; *) fail "no lab node $1" ;; esac
}

ts() {
  local s
  s=$(_lab_sock "$1")
  shift
  "$TS" --socket="$s" "$@"
}

ts_status() {
  local n=$1
  shift
  ts "$n" status --json "$@" 2>/dev/null
}

state_of() { ts_status "$1" --peers=false | jq -r .BackendState; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }

node_login() {
  ts node up --login-server="$CONTROL_URL" --auth-key="$AUTH_KEY" --timeout=30s "$@" >/dev/null 2>"$t/login.err" ||
    fail "node: tailscale up failed: $(cat "$t/login.err")"
  wait_for 20 state_is node Running
}

node_ip4() { ts_status node --peers=false | jq -r '.Self.TailscaleIPs[] | select(contains("."))'; }

in_node() { ip netns exec "$NODE_NS" "$@"; }

PEER_SAW='^peer saw (100\.64\.|fd7a:115c:a1e0:)'
get_ts() {
  local url=$1 re=$2 secs=${3:-10}
  local end=$((SECONDS + secs))
  while :; do
    if get "$url" && [[ $BODY =~ $re ]] && [ "$(conn_field .outbound)" = ts-ep ]; then return 0; fi
    [ "$SECONDS" -lt "$end" ] ||
      fail "$url: no answer matching '$re' through ts-ep within ${secs} s: body '$BODY' $CONN (curl: $(cat "$t/curl.err"))"
    sleep 0.25
  done
}

peer_by_every_name() {
  local node4
  node4=$(node_ip4)
  get_ts "http://peer.$SUFFIX:8080/" "$PEER_SAW"
  [ "$BODY" = "peer saw $node4" ] || fail "the peer did not see the node's tailnet address $node4: $BODY"
  get_ts "http://peer:8080/" "$PEER_SAW"
  get_ts "http://$PEER4:8080/" "$PEER_SAW"
  get_ts "http://[$PEER6]:8080/" "$PEER_SAW"
  echo "ok: MagicDNS FQDN, short name, IPv4 and IPv6 reach the peer"
}

# hold_start HOST PORT: a SOCKS5 CONNECT to HOST:PORT through sb-relay on the node's 127.0.0.1:1080,
# granted and then held open with nothing sent, until hold_end; fails unless sb-relay grants it.
# What a held connection holds (sockets, streams) can be looked at in between.
hold_start() {
  HELD_BEFORE=$(conn_count)
  local script='
import socket, struct, sys
host, port = sys.argv[1].encode(), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", 1080), timeout=10)
s.sendall(b"\x05\x01\x00"); assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x03" + bytes([len(host)]) + host + struct.pack(">H", port))
r = s.recv(262); print("ok" if r[:2] == b"\x05\x00" else "reply %r" % r[:2], flush=True)
sys.stdin.read()
'
  coproc HOLD { in_node python3 -c "$script" "$1" "$2"; }
  track_pid "$HOLD_PID"
  local granted=""
  read -r -t 15 granted <&"${HOLD[0]}" || fail "the held connection got no SOCKS5 reply from sb-relay"
  [ "$granted" = ok ] || fail "the held connection to $1:$2 was refused: $granted"
}

# hold_end: closes the held connection and waits for its conn record (so that the next request's
# record is the next one).
hold_end() {
  eval "exec ${HOLD[1]}>&-"
  wait "$HOLD_PID" || true
  wait_for 10 conn_count_above "$HELD_BEFORE"
}

lab_lapi() {  # NODE PATH [CURL ARGS]
  local s
  s=$(_lab_sock "$1")
  local path=$2
  shift 2
  curl -sS --unix-socket "$s" -H "Host: local-tailscaled.sock" "$@" "http://local-tailscaled.sock$path"
}
