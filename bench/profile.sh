#!/usr/bin/env bash
# CPU profile of the daemon under load: perf samples (cpu-clock, call graphs) while
# the load generator drives the HTTP path at c=64, then self and inclusive shares per
# function (bench/perf-attribute.py maps the Swift binary's frames itself).
# Shares are ratios within one run, so they hold on a loaded machine where
# wall-clock figures do not.
#
#   bench/profile.sh [REQUESTS] [SECONDS]     default 60000 requests, 12 s of samples
#   UPSTREAM=sim | AUDIT=sqlite               as in the other scripts
#   RATE=N                                    open loop at N req/s instead of c=64
#   OUT=file.txt                              keep the report (default: printed)
# Needs `perf` (Debian: linux-perf) and perf_event_paranoid <= 2 or root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-60000}
SECS=${2:-12}
path=""; durable=false
[ "${AUDIT:-memory}" = sqlite ] && { path="$BENCH_TMP/audit.sqlite"; durable=true; }
if [ "${UPSTREAM:-http}" = sim ]; then yaml_sim "$path" "$durable"; else mock_start; yaml_http "$path" "$durable"; fi >"$BENCH_TMP/p.yaml"
daemon_start "$BENCH_TMP/p.yaml"
load_note
loadgen --socket "$SOCKET" --route bench --concurrency 64 --requests 5000 --warmup 0 >/dev/null
perf record -F 2000 -g -o "$BENCH_TMP/perf.data" -p "$DAEMON_PID" -- sleep "$SECS" >/dev/null 2>&1 &
PERF_PID=$!
if [ -n "${RATE:-}" ]; then
  loadgen --socket "$SOCKET" --route bench --rate "$RATE" --requests "$N" --pid "$DAEMON_PID" --label "profile open $RATE/s" || true
else
  loadgen --socket "$SOCKET" --route bench --concurrency 64 --requests "$N" --pid "$DAEMON_PID" --label profile
fi
wait "$PERF_PID" || true
daemon_stop
perf report -i "$BENCH_TMP/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' | head -8
python3 "$BENCH_DIR/perf-attribute.py" "$BENCH_TMP/perf.data" "$SWITCHBOARDD" 60 "$(basename "$SWITCHBOARDD")" >"${OUT:-$BENCH_TMP/report.txt}"
[ -n "${OUT:-}" ] || cat "$BENCH_TMP/report.txt"
