#!/usr/bin/env bash
# The durable SQLite audit (`durable_responses: true`, synchronous FULL) on the HTTP
# path: open loop at RATE req/s (default 1,000) for REQUESTS requests, ROUNDS times,
# each on a fresh audit file (and its budget ledger beside it, as a daemon with an
# audit path runs); then the same with the in-memory audit and ledger, so the added
# cost of durability is read off the same run. Prints the disk's own latency first
# (bench/fsync_probe.c: 8 pages + fdatasync, like one WAL commit; no durable commit
# here can be faster than the disk), then each run: p50/p99/p999 from each request's
# scheduled send time, and the daemon's CPU per request.
#
#   bench/durable.sh [REQUESTS] [RATE] [ROUNDS]     defaults 10000 1000 3
#   BENCH_PIN=1 bench/durable.sh                    daemon on CPU 0, mock + loadgen on CPU 1
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-10000}
RATE=${2:-1000}
ROUNDS=${3:-3}
load_note
"$BENCH_DIR/build/fsync_probe" "$BENCH_TMP" 2000 8
mock_start
for r in $(seq 1 "$ROUNDS"); do
  for audit in sqlite memory; do
    if [ "$audit" = sqlite ]; then
      rm -f "$BENCH_TMP"/audit.sqlite*
      yaml_http "$BENCH_TMP/audit.sqlite" true >"$BENCH_TMP/durable.yaml"
    else
      yaml_http "" false >"$BENCH_TMP/durable.yaml"
    fi
    daemon_start "$BENCH_TMP/durable.yaml"
    # Warm the connection pool and the file (the first commits create the WAL).
    loadgen --socket "$SOCKET" --route bench --concurrency 4 --requests 500 >/dev/null
    loadgen --socket "$SOCKET" --route bench --rate "$RATE" --requests "$N" --pid "$DAEMON_PID" \
      --label "round $r audit=$audit open $RATE/s" --json || true
    daemon_stop
  done
done
