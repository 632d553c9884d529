#!/usr/bin/env bash
# A/B of the provider HTTP client on the HTTP path, in one run: the same release
# binary with AsyncHTTPClient for every provider (SWITCHBOARD_PROVIDER_HTTP_CLIENT=
# asynchttpclient) and with the lean HTTP/1.1 client (the default for http://),
# interleaved A B A B ... so both see the same machine load. Per round and client:
# closed loop c=64, open loop 1,000 req/s, c=1. Prints each run and the medians of
# daemon CPU per request (from /proc, the less noisy figure here) and of req/s/p99.
#
#   bench/ab-client.sh [REQUESTS] [ROUNDS]     default 20000 per closed-loop run, 3 rounds
#   BENCH_PIN=1 bench/ab-client.sh             daemon on CPU 0, mock + load generator on CPU 1
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-20000}
ROUNDS=${2:-3}
export ROUNDS
load_note
mock_start
yaml_http "" false >"$BENCH_TMP/http.yaml"
ab_clients "$BENCH_TMP/http.yaml" "HTTP upstream" "c64:--concurrency 64 --requests $N" \
  "open1000:--rate 1000 --requests 5000" "c1:--concurrency 1 --connections 1 --requests $((N / 10))"
