#!/usr/bin/env bash
# The HTTP path: C load generator (own process) -> daemon socket -> daemon -> C mock
# upstream over HTTP/1.1 keep-alive. Closed loop at c=64 and c=1, open loop at
# 1,000 and 5,000 req/s (latency from each request's scheduled send time), daemon
# CPU per request from /proc/PID/stat. The mock alone is measured first, so its own
# cost is known.
#
#   bench/http.sh [REQUESTS]         default 50000 per closed-loop run
#   AUDIT=sqlite bench/http.sh       SQLite file audit (durable_responses: true)
#   BENCH_PIN=1 bench/http.sh        daemon on CPU 0, mock + load generator on CPU 1
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-50000}
load_note
mock_start
echo "== mock alone (loadgen -> mock over HTTP, c=64)"
loadgen --http "127.0.0.1:$MOCK_PORT" --concurrency 64 --requests "$N" --pid "$MOCK_PID" --label mock
if [ "${AUDIT:-memory}" = sqlite ]; then
  yaml_http "$BENCH_TMP/audit.sqlite" true >"$BENCH_TMP/http.yaml"
else
  yaml_http "" false >"$BENCH_TMP/http.yaml"
fi
daemon_start "$BENCH_TMP/http.yaml"
echo "== switchboard: loadgen -> socket -> daemon -> mock (audit: ${AUDIT:-memory})"
loadgen --socket "$SOCKET" --route bench --concurrency 64 --requests "$N" --pid "$DAEMON_PID" --pid "$MOCK_PID" --label "switchboard c=64" --json
loadgen --socket "$SOCKET" --route bench --concurrency 1 --connections 1 --requests $((N / 10)) --pid "$DAEMON_PID" --label "switchboard c=1" --json
loadgen --socket "$SOCKET" --route bench --rate 1000 --requests 10000 --pid "$DAEMON_PID" --label "switchboard open 1000/s" --json || true
loadgen --socket "$SOCKET" --route bench --rate 5000 --requests 25000 --pid "$DAEMON_PID" --label "switchboard open 5000/s" --json || true
echo "== streaming (c=64)"
loadgen --socket "$SOCKET" --route bench --stream --concurrency 64 --requests $((N / 2)) --pid "$DAEMON_PID" --label "switchboard stream c=64" --json
daemon_stop
