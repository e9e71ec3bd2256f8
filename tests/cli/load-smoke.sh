#!/usr/bin/env bash
# A short version of make load (tests/load), well under 30 s: sb-relay holds 300 relayed connections
# (echo checked twice, descriptors back to the baseline after), a 5 s soak of short and long
# connections with zero failures, the connection cap (20 held, 10 refused politely: SOCKS5 0xFF and
# HTTP 503); ts-status watch on a 200-peer tailnet churning every 100 ms for 3 s ends on the
# daemon's final state. The expectations are written at the top of each script.
. "$(dirname "$0")/lib.sh"
load=$TB_SRC/tests/load
for script in relay-load watch-churn; do
  rc=0
  LOAD_CONNS=300 LOAD_SOAK=5 LOAD_SOAK_CONC=40 LOAD_CAP=20 LOAD_OVER=10 CHURN_PEERS=200 CHURN_SECONDS=3 LOAD_REPORT= \
    bash "$load/$script.sh" >"$t/$script.log" 2>&1 || rc=$?
  case $rc in
    0) ;;
    77) skip "$script: $(grep SKIP "$t/$script.log")" ;;
    *) cat "$t/$script.log" >&2; fail "$script failed (exit $rc)" ;;
  esac
  tail -2 "$t/$script.log" | head -1
done
echo ok
