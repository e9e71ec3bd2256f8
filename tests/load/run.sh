#!/usr/bin/env bash
# make load: every load test in tests/load, one after the other (they need the machine to themselves).
# Env: TB_BIN, TB_FAKES (the built tools), LOAD_CONNS (5000), LOAD_SOAK (120 s), CHURN_PEERS (1000),
# CHURN_SECONDS (60), LOAD_REPORT (JSON lines of figures; default $TB_BIN/../load-report.jsonl).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LOAD_CONNS=${LOAD_CONNS:-5000} LOAD_SOAK=${LOAD_SOAK:-120}
export CHURN_PEERS=${CHURN_PEERS:-1000} CHURN_SECONDS=${CHURN_SECONDS:-60}
export LOAD_REPORT=${LOAD_REPORT:-${TB_BIN:?TB_BIN not set}/../load-report.jsonl}
status=0
for test in relay-load watch-churn; do
  echo "=== $test"
  rc=0
  bash "$here/$test.sh" || rc=$?
  case $rc in
    0) echo "=== $test: PASS" ;;
    77) echo "=== $test: SKIPPED" ;;
    *) echo "=== $test: FAIL ($rc)"; status=1 ;;
  esac
done
echo "figures: $LOAD_REPORT"
exit $status
