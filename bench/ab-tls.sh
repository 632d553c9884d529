#!/usr/bin/env bash
# A/B of the provider client over HTTPS, in one run: the same release binary with
# AsyncHTTPClient (SWITCHBOARD_PROVIDER_HTTP_CLIENT=asynchttpclient) and with the
# lean client (the default, now with TLS), interleaved A B A B ..., against the
# Swift fake provider serving TLS with the test certificate (the C mock speaks no
# TLS). The fake costs more per request than the C mock, so compare the daemon's
# CPU per request (from /proc), not req/s. Cases: closed loop c=32 and c=1.
#
#   bench/ab-tls.sh [REQUESTS] [ROUNDS]     default 20000 per c=32 run, 3 rounds
#   BENCH_PIN=1 bench/ab-tls.sh             daemon on CPU 0, fake + load generator on CPU 1
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-20000}
ROUNDS=${2:-3}
export ROUNDS
FAKE=${FAKE_PROVIDER:-$REPO_ROOT/.build/release/fake-provider}
load_note
pin 1 "$FAKE" --port 0 --tls-test-ca "$BENCH_TMP/ca.pem" >"$BENCH_TMP/fake.out" 2>&1 &
BENCH_PIDS+=("$!")
FAKE_PORT=
for _ in $(seq 1 100); do
  FAKE_PORT=$(grep -oE ':[0-9]{2,5}/' "$BENCH_TMP/fake.out" | tr -d ':/' | tail -1 || true)
  [ -n "$FAKE_PORT" ] && break
  sleep 0.1
done
[ -n "$FAKE_PORT" ] || { echo "fake-provider did not start: $(cat "$BENCH_TMP/fake.out")" >&2; exit 1; }
cat >"$BENCH_TMP/tls.yaml" <<YAML
listen: {max_in_flight_per_connection: 4096, max_in_flight: 16384}
logging: {level: error}
audit: {path: "", durable_responses: false}
providers:
  tls: {kind: openai, preset: vllm, base_url: "https://127.0.0.1:$FAKE_PORT/v1", ca_file: "$BENCH_TMP/ca.pem"}
models:
  tls/bench-model: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
routes:
  bench: {candidates: [tls/bench-model]}
YAML
ab_clients "$BENCH_TMP/tls.yaml" "HTTPS upstream" "c32:--concurrency 32 --requests $N" \
  "c1:--concurrency 1 --connections 1 --requests $((N / 10))"
