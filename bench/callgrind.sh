#!/usr/bin/env bash
# Instruction counts per request (repeatable on a loaded machine, unlike wall time):
# runs the daemon under valgrind's callgrind, warms it up, zeroes the counters,
# sends REQUESTS requests with the load generator, dumps, and prints instructions
# per request plus the top functions (self and inclusive).
#
#   bench/callgrind.sh [REQUESTS] [CONCURRENCY]     default 2000, 16
#   UPSTREAM=sim      zero-latency simulated provider instead of the C mock over HTTP
#   AUDIT=sqlite      SQLite file audit (durable_responses: true) instead of in-memory
#   OUT=dir           keep callgrind.out there (default: the temp dir, removed)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-2000}
C=${2:-16}
OUT=${OUT:-$BENCH_TMP}
mkdir -p "$OUT"
path=""; durable=false
[ "${AUDIT:-memory}" = sqlite ] && { path="$BENCH_TMP/audit.sqlite"; durable=true; }
if [ "${UPSTREAM:-http}" = sim ]; then yaml_sim "$path" "$durable"; else mock_start; yaml_http "$path" "$durable"; fi >"$BENCH_TMP/cg.yaml"
SOCKET=$BENCH_TMP/sb-cg.sock
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" --dump-instr=no --separate-threads=no \
  "$SWITCHBOARDD" --config "$BENCH_TMP/cg.yaml" --socket "$SOCKET" >"$BENCH_TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
BENCH_PIDS+=("$DAEMON_PID")
for i in $(seq 1 600); do [ -S "$SOCKET" ] && break; sleep 0.2; done
[ -S "$SOCKET" ] || { echo "daemon did not start under valgrind" >&2; cat "$BENCH_TMP/daemon.log" >&2; exit 1; }
"$LOADGEN" --socket "$SOCKET" --route bench --concurrency "$C" --requests 500 --warmup 0 >/dev/null
callgrind_control --zero "$DAEMON_PID" >/dev/null
"$LOADGEN" --socket "$SOCKET" --route bench --concurrency "$C" --requests "$N" --warmup 0 --label "under callgrind"
callgrind_control --dump "$DAEMON_PID" >/dev/null
sleep 1
daemon_stop
dump=$(ls -t "$OUT"/callgrind.out* | head -1)
for f in "$OUT"/callgrind.out*; do
  total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
  [ -n "$total" ] && [ "$total" -gt 0 ] && echo "$f: $total instructions"
done
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "instructions per request: $((total / N)) (dump $dump, $N requests, c=$C, upstream ${UPSTREAM:-http}, audit ${AUDIT:-memory})"
echo "--- top functions, self"
callgrind_annotate --threshold=90 "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | head -45
echo "--- top functions, inclusive"
callgrind_annotate --inclusive=yes --threshold=90 "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | head -60
