#!/usr/bin/env bash
# Side by side, in one run, against the same C mock upstream on loopback:
#   Switchboard (C load generator in its own process -> socket -> daemon -> mock)
#   and the peers of bench/peers.py (in process, installed from PyPI into a
#   throwaway venv: LiteLLM's Router, liter-llm, TensorZero's embedded gateway).
# Prints each system's closed-loop (c=64) and open-loop (1,000 req/s) figures and
# the ratios to Switchboard. A peer that does not install or run is reported as
# skipped with the reason.
#
#   bench/peers.sh [REQUESTS]        default 20000 closed-loop requests per system
#   PEERS=liter-llm,tensorzero bench/peers.sh
#   BENCH_VENV=/path                 reuse a venv (default: a fresh one in the temp dir)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-20000}
VENV=${BENCH_VENV:-$BENCH_TMP/venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  for p in litellm liter-llm tensorzero; do
    "$VENV/bin/pip" install -q "$p" >"$BENCH_TMP/pip-$p.log" 2>&1 || echo "# $p did not install: $(tail -1 "$BENCH_TMP/pip-$p.log")"
  done
fi
load_note
mock_start
yaml_http "" false >"$BENCH_TMP/http.yaml"
daemon_start "$BENCH_TMP/http.yaml"
RESULTS=$BENCH_TMP/results.jsonl
{
  loadgen --http "127.0.0.1:$MOCK_PORT" --concurrency 64 --requests "$N" --label "mock-alone c=64" --json | grep '^{' || true
  loadgen --http "127.0.0.1:$MOCK_PORT" --rate 1000 --requests 10000 --label "mock-alone open 1000/s" --json | grep '^{' || true
  loadgen --socket "$SOCKET" --route bench --concurrency 64 --requests "$N" --pid "$DAEMON_PID" --label "switchboard c=64" --json | grep '^{' || true
  loadgen --socket "$SOCKET" --route bench --rate 1000 --requests 10000 --pid "$DAEMON_PID" --label "switchboard open 1000/s" --json | grep '^{' || true
} >"$RESULTS"
"$VENV/bin/python" "$BENCH_DIR/peers.py" --port "$MOCK_PORT" --requests "$N" --only "${PEERS:-litellm,liter-llm,tensorzero}" \
  2>"$BENCH_TMP/peers.err" | grep '^{' >>"$RESULTS" || true
daemon_stop
"$VENV/bin/python" "$BENCH_DIR/ratios.py" "$RESULTS"
