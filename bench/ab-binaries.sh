#!/usr/bin/env bash
# A/B of two daemon binaries in one run, interleaved A B A B ... so both see the
# same machine load (e.g. a baseline copied before a change, and the change).
# Per round and binary: HTTP path to the C mock (closed loop c=64, c=1, open loop
# 1,000 req/s) and closed loop c=64 to the zero-latency simulated provider. Prints
# each run, then per case the medians of daemon CPU per request (from /proc, the
# less noisy figure here), req/s, p50/p99, and B / A.
#
#   bench/ab-binaries.sh A_BINARY B_BINARY [REQUESTS] [ROUNDS]   default 20000 per c=64 run, 3 rounds
#   BENCH_PIN=1 bench/ab-binaries.sh ...     daemon on CPU 0, mock + load generator on CPU 1
#   CASES="c64 sim64"                         a subset of: c64 open1000 c1 sim64
set -euo pipefail
A=${1:?usage: bench/ab-binaries.sh A_BINARY B_BINARY [REQUESTS] [ROUNDS]}
B=${2:?usage: bench/ab-binaries.sh A_BINARY B_BINARY [REQUESTS] [ROUNDS]}
for bin in "$A" "$B"; do [ -x "$bin" ] || { echo "bench: $bin is not an executable" >&2; exit 1; }; done
SWITCHBOARDD=$A
. "$(dirname "$0")/lib.sh"
N=${3:-20000}
ROUNDS=${4:-3}
CASES=${CASES:-c64 open1000 c1 sim64}
load_note
echo "# A = $A"
echo "# B = $B"
mock_start
yaml_http "" false >"$BENCH_TMP/http.yaml"
yaml_sim "" false >"$BENCH_TMP/sim.yaml"
RESULTS=$BENCH_TMP/ab.jsonl
run_case() { # LABEL CASE YAML LOADGEN-ARGS...
  local label=$1 name=$2 yaml=$3
  shift 3
  daemon_start "$yaml"
  loadgen --socket "$SOCKET" --route bench --concurrency 64 --requests 2000 --warmup 0 >/dev/null  # warm-up
  loadgen --socket "$SOCKET" --route bench "$@" --pid "$DAEMON_PID" --label "$label $name" --json \
    | tee "$BENCH_TMP/out" | grep -v '^{' || true
  grep '^{' "$BENCH_TMP/out" | sed "s/^{/{\"bin\":\"$label\",\"case\":\"$name\",/" >>"$RESULTS"
  daemon_stop
}
for round in $(seq 1 "$ROUNDS"); do
  for label in A B; do
    if [ "$label" = A ]; then SWITCHBOARDD=$A; else SWITCHBOARDD=$B; fi
    echo "== round $round, $label ($(cut -d' ' -f1 /proc/loadavg) load)"
    for c in $CASES; do
      case $c in
        c64) run_case "$label" c64 "$BENCH_TMP/http.yaml" --concurrency 64 --requests "$N" ;;
        open1000) run_case "$label" open1000 "$BENCH_TMP/http.yaml" --rate 1000 --requests 5000 ;;
        c1) run_case "$label" c1 "$BENCH_TMP/http.yaml" --concurrency 1 --connections 1 --requests $((N / 10)) ;;
        sim64) run_case "$label" sim64 "$BENCH_TMP/sim.yaml" --concurrency 64 --requests $((N * 2)) ;;
        *) echo "bench: unknown case $c" >&2; exit 1 ;;
      esac
    done
  done
done
load_note
python3 - "$RESULTS" "$CASES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nmedians over rounds (daemon CPU from /proc; interleaved in one run):")
print(f"{'case':10} {'bin':4} {'runs':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'daemon us/req':>14} {'failed':>7}")
for case in sys.argv[2].split():
    cpu = {}
    for b in ["A", "B"]:
        rs = [r for r in rows if r["case"] == case and r["bin"] == b]
        if not rs: continue
        med = lambda k: statistics.median(r[k] for r in rs)
        cpu[b] = statistics.median(r["cpu_us"][0] for r in rs)
        failed = sum(r.get("failed", 0) for r in rs)
        print(f"{case:10} {b:4} {len(rs):4} {med('rps'):8.0f} {med('p50_ms'):8.3f} {med('p99_ms'):8.3f} {cpu[b]:14.1f} {failed:7}")
    if "A" in cpu and "B" in cpu: print(f"{case:10} {'B/A':4} {'':4} {'':8} {'':8} {'':8} {cpu['B'] / cpu['A']:13.2f}x")
PY
