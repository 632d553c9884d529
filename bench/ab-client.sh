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
load_note
mock_start
yaml_http "" false >"$BENCH_TMP/http.yaml"
RESULTS=$BENCH_TMP/ab.jsonl
for round in $(seq 1 "$ROUNDS"); do
  for client in asynchttpclient lean; do
    if [ "$client" = asynchttpclient ]; then export SWITCHBOARD_PROVIDER_HTTP_CLIENT=asynchttpclient
    else unset SWITCHBOARD_PROVIDER_HTTP_CLIENT; fi
    daemon_start "$BENCH_TMP/http.yaml"
    echo "== round $round, $client ($(cut -d' ' -f1 /proc/loadavg) load)"
    for spec in "c64:--concurrency 64 --requests $N" "open1000:--rate 1000 --requests 5000" \
                "c1:--concurrency 1 --connections 1 --requests $((N / 10))"; do
      name=${spec%%:*}
      # shellcheck disable=SC2086
      loadgen --socket "$SOCKET" --route bench ${spec#*:} --pid "$DAEMON_PID" --label "$client $name" --json \
        | tee "$BENCH_TMP/out" | grep -v '^{' || true
      grep '^{' "$BENCH_TMP/out" | sed "s/^{/{\"client\":\"$client\",\"case\":\"$name\",/" >>"$RESULTS"
    done
    daemon_stop
  done
done
unset SWITCHBOARD_PROVIDER_HTTP_CLIENT
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nmedians over rounds (daemon CPU from /proc; same binary, same run, interleaved):")
print(f"{'case':10} {'client':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'daemon us/req':>14}")
for case in ["c64", "open1000", "c1"]:
    for client in ["asynchttpclient", "lean"]:
        rs = [r for r in rows if r["case"] == case and r["client"] == client]
        if not rs: continue
        med = lambda k: statistics.median(r[k] for r in rs)
        cpu = statistics.median(r["cpu_us"][0] for r in rs)
        print(f"{case:10} {client:16} {med('rps'):8.0f} {med('p50_ms'):8.3f} {med('p99_ms'):8.3f} {cpu:14.1f}")
    a = [r["cpu_us"][0] for r in rows if r["case"] == case and r["client"] == "asynchttpclient"]
    b = [r["cpu_us"][0] for r in rows if r["case"] == case and r["client"] == "lean"]
    if a and b: print(f"{case:10} {'lean / ahc CPU':16} {statistics.median(b) / statistics.median(a):8.2f}x")
PY
