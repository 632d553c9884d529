#!/usr/bin/env bash
# Memory per call in flight: C calls held open at once against a slow simulated
# provider (each answers after LAT ms), the daemon's idle and peak RSS (sampled
# every 200 ms). Issue 18's target: <= 150 MB with 2,000 concurrent streams.
#
#   bench/inflight.sh                     2,000 concurrent streams, 2 s each
#   C=500 N=6000 STREAM= bench/inflight.sh   500 unary calls at a time, 6,000 in all
#   LAT=3000                              the provider's latency (ms)
# Where the memory goes: run the daemon under heaptrack (Debian: heaptrack) the
# same way and `heaptrack_print --print-peaks 1`; async frames show up as
# swift::StackAllocator::alloc, by the call that allocated them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
C=${C:-2000}
N=${N:-$C}
STREAM=${STREAM-1}
cat >"$BENCH_TMP/inflight.yaml" <<YAML
listen: {max_in_flight_per_connection: 4096, max_in_flight: 16384}
logging: {level: error}
providers:
  slow: {kind: simulated, latency_ms: {p50: ${LAT:-2000}, p99: ${LAT:-2000}}, output_tokens: 64}
models:
  slow/echo: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
routes:
  bench: {candidates: [slow/echo], timeouts: {first_token_ms: 20000, attempt_ms: 30000}}
YAML
load_note
daemon_start "$BENCH_TMP/inflight.yaml"
rss() { awk '/VmRSS/{print int($2/1024)}' "/proc/$DAEMON_PID/status" 2>/dev/null || echo 0; }
echo "idle rss_mb=$(rss)"
echo 0 >"$BENCH_TMP/peak"
( peak=0; while kill -0 "$DAEMON_PID" 2>/dev/null; do r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$BENCH_TMP/peak"; sleep 0.2; done ) &
SAMPLER=$!
BENCH_PIDS+=("$SAMPLER")
loadgen --socket "$SOCKET" --route bench --concurrency "$C" --connections 8 --requests "$N" --warmup 0 \
  ${STREAM:+--stream} --pid "$DAEMON_PID" --label "in flight c=$C${STREAM:+ streams}" | grep -v '^{'
echo "peak rss_mb=$(cat "$BENCH_TMP/peak") with $C calls in flight${STREAM:+ (streams)}"
daemon_stop
