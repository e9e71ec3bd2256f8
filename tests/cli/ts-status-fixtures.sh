#!/usr/bin/env bash
# ts-status against the stand-in serving every real status capture: text, --json, --raw,
# --peers=false, --active, and the exit status each state implies.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
ts=$(tool ts-status)
n=0
for fixture in "$TB_FIXTURES"/localapi/status-*.json; do
  name=$(basename "$fixture")
  printf '{"status": "%s"}\n' "$fixture" >"$t/scenario.json"
  start_fake --scenario "$t/scenario.json"
  backend=$(jq -r '.BackendState' "$fixture")
  want_exit=1
  case $backend in Running|Starting) want_exit=0 ;; esac

  # --json: one v1 status record; every documented key; lists never null.
  rc=0; "$ts" --socket "$FAKE_SOCK" --json >"$t/out.json" 2>"$t/err" || rc=$?
  [ "$rc" = "$want_exit" ] || fail "$name: --json exit $rc, want $want_exit ($(cat "$t/err"))"
  [ "$(wc -l <"$t/out.json")" = 1 ] || fail "$name: --json is not one line"
  jq -e '.v == 1 and .type == "status" and (keys_unsorted[0:2] == ["v","type"])
         and (.peers | type == "array") and (.health | type == "array")
         and has("connected") and has("self") and has("magic_dns") and has("tailnet") and has("exit_node")' \
    "$t/out.json" >/dev/null || fail "$name: record shape: $(head -c 300 "$t/out.json")"
  jq -e '[.. | objects | to_entries[] | select(.key | test("^(ips|tags|peers|health|primary_routes|allowed_ips)$")) | .value | type] | all(. == "array")' \
    "$t/out.json" >/dev/null || fail "$name: a list is null"
  peers_doc=$(jq '[.Peer // {} | .[]] | length' "$fixture")
  [ "$(jq '.peers | length' "$t/out.json")" = "$peers_doc" ] || fail "$name: peer count"
  grep -q $'\x1b' "$t/out.json" && fail "$name: ANSI in JSON"

  # --raw: the daemon's document, byte for byte.
  "$ts" --socket "$FAKE_SOCK" --raw >"$t/raw" || true
  lapi /localapi/v0/status >"$t/direct"
  cmp -s "$t/raw" "$t/direct" || fail "$name: --raw differs from the daemon's document"

  # --peers=false asks the daemon without peers.
  "$ts" --socket "$FAKE_SOCK" --json --peers=false >"$t/np.json" || true
  [ "$(jq '.peers | length' "$t/np.json")" = 0 ] || fail "$name: --peers=false still lists peers"
  grep -q '"query":{"peers":"false"}' "$FAKE_LOG" || fail "$name: peers=false not sent to the daemon"

  # --active keeps only active peers.
  "$ts" --socket "$FAKE_SOCK" --json --active >"$t/act.json" || true
  jq -e '.peers | all(.active)' "$t/act.json" >/dev/null || fail "$name: --active kept idle peers"

  # Text: the table when up, tailscale's message otherwise; never a partial line.
  rc=0; NO_COLOR=1 "$ts" --socket "$FAKE_SOCK" >"$t/text" || rc=$?
  [ "$rc" = "$want_exit" ] || fail "$name: text exit $rc"
  if [ "$want_exit" = 0 ]; then
    self_ip=$(jq -r '.self.ips[0] // empty' "$t/out.json")
    [ -z "$self_ip" ] || head -1 "$t/text" | contains "^$self_ip " || fail "$name: first row is not self: $(head -1 "$t/text")"
    [ "$(grep -c '^100\.\|^fd7a' "$t/text")" -ge "$(jq '[.peers[] | select(.dns_name | endswith(".mullvad.ts.net") | not)] | length' "$t/out.json")" ] \
      || fail "$name: missing peer rows"
  else
    case $backend in
      NeedsLogin) grep -q '^Logged out\.$' "$t/text" && grep -q '^Log in at: https://' "$t/text" || fail "$name: logged-out text: $(cat "$t/text")" ;;
    esac
  fi
  stop_fake
  n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "only $n fixtures found"
echo "ok: $n fixtures"
