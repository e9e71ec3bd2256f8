#!/usr/bin/env bash
# The cron example (scripts/cron/tailbox-prometheus) is a valid cron.d file whose command, run as
# written (with /usr/bin/ts-status replaced by the built one and the textfile directory by a temp
# dir), writes node_exporter metrics; and the commands the systemd units run take only options
# the scripts have.
. "$(dirname "$0")/lib.sh"
ts=$(tool ts-status)
cron=$TB_SRC/scripts/cron/tailbox-prometheus
[ -f "$cron" ] || fail "no $cron"

# cron.d: comments, NAME=value lines, or "m h dom mon dow user command".
jobs=0
while IFS= read -r line; do
  case $line in ''|'#'*) continue ;; [A-Z]*=*) continue ;; esac
  read -r m h dom mon dow user cmd <<<"$line"
  for f in "$m" "$h" "$dom" "$mon" "$dow"; do
    [[ $f =~ ^(\*|[0-9]+)([-/,][0-9]+)*$|^\*/[0-9]+$ ]] || fail "bad time field '$f' in: $line"
  done
  [[ $user =~ ^[a-z_][a-z0-9_-]*$ ]] || fail "bad user field '$user' in: $line"
  [ -n "$cmd" ] || fail "no command in: $line"
  jobs=$((jobs + 1))
  job=$cmd
done <"$cron"
[ "$jobs" = 1 ] || fail "expected one job in $cron, found $jobs"
case $job in /usr/bin/ts-status\ *--format\ prometheus\ --output\ /var/lib/prometheus/node-exporter/*.prom*) ;;
  *) fail "unexpected job: $job" ;; esac

start_fake
mkdir -p "$t/path"
printf '#!/bin/sh\ncat >>"%s/logger.out"\n' "$t" >"$t/path/logger"
chmod +x "$t/path/logger"
job=${job//\/usr\/bin\/ts-status/$ts}
job=${job//\/var\/lib\/prometheus\/node-exporter\//$t\/}
TS_SOCKET=$FAKE_SOCK PATH=$t/path:$PATH sh -c "$job" || fail "the job failed: $job"
grep -qx 'tailbox_up 1' "$t/tailscale.prom" || fail "no tailbox_up 1 in the metrics: $(head -5 "$t/tailscale.prom")"
[ ! -s "$t/logger.out" ] || fail "the job logged: $(cat "$t/logger.out")"
# With the daemon gone the file says so and the message goes to the logger.
stop_fake
TS_SOCKET=$FAKE_SOCK PATH=$t/path:$PATH sh -c "$job" || true
grep -qx 'tailbox_up 0' "$t/tailscale.prom" || fail "no tailbox_up 0 with the daemon down"
grep -q 'cannot connect' "$t/logger.out" || fail "the error did not reach logger: $(cat "$t/logger.out" 2>/dev/null)"

# The commented healthcheck line and the units' ExecStart lines use options the scripts have.
hc_help=$("$TB_SRC/scripts/tailbox-healthcheck" --help)
proxy_help=$(bash "$TB_SRC/scripts/tailbox-proxy" --help)
for line in "$(grep -h 'tailbox-healthcheck ' "$cron" | grep -v '^# ')" \
    "$(grep -h '^ExecStart=' "$TB_SRC"/scripts/systemd/*.service)"; do
  while IFS= read -r l; do
    [ -n "$l" ] || continue
    case $l in
      *tailbox-healthcheck*) help=$hc_help ;;
      *tailbox-proxy*) help=$proxy_help ;;
      *) fail "unexpected command: $l" ;;
    esac
    for opt in $(printf '%s\n' "$l" | grep -oE -- ' --[a-z][a-z0-9-]*'); do
      grep -q -- "$opt" <<<"$help" || fail "$opt is not an option of: $l"
    done
  done <<<"$line"
done
echo ok
