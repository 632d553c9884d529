#!/usr/bin/env bash
# Memory benchmark: 1,000,000 requests through the daemon's socket for each audit
# store, printing the daemon's RSS every 100,000 requests. The in-memory store must
# stay flat (bounded ring, audit.memory_budget_mb); the SQLite file store too.
#
#   bench/memory.sh [REQUESTS]        default 1000000
#   UPSTREAM=http bench/memory.sh     route to the C mock over HTTP instead of the
#                                     zero-latency simulated provider
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-1000000}
STEP=$((N / 10))
load_note
[ "${UPSTREAM:-sim}" = http ] && mock_start
for store in memory sqlite; do
  path=""
  [ "$store" = sqlite ] && path="$BENCH_TMP/audit-$RANDOM.sqlite"
  if [ "${UPSTREAM:-sim}" = http ]; then yaml_http "$path" false; else yaml_sim "$path" false; fi >"$BENCH_TMP/$store.yaml"
  daemon_start "$BENCH_TMP/$store.yaml"
  echo "== audit store: $store (durable_responses: false), $N requests, closed loop c=64"
  echo "rss requests=0 pid=$DAEMON_PID rss_mb=$(awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$DAEMON_PID/status)"
  loadgen --socket "$SOCKET" --route bench --concurrency 64 --connections 4 --warmup 0 \
    --requests "$N" --rss-every "$STEP" --pid "$DAEMON_PID" --label "memory:$store"
  daemon_stop
done
