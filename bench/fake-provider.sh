#!/usr/bin/env bash
# Measures the upstream candidates alone, in the same run: the Swift fake provider
# (SwitchboardTestKit, used by the tests) and the C mock, each driven over HTTP by
# the load generator. The one to benchmark the daemon against must cost far less
# per request than the daemon itself.
#
#   bench/fake-provider.sh [REQUESTS]   default 50000
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-50000}
FAKE=${FAKE_PROVIDER:-$REPO_ROOT/.build/release/fake-provider}
load_note
mock_start
loadgen --http "127.0.0.1:$MOCK_PORT" --concurrency 64 --requests "$N" --pid "$MOCK_PID" --label "mock_openai (C)" --json
"$FAKE" --port 0 >"$BENCH_TMP/fake.out" 2>&1 &
FAKE_PID=$!
BENCH_PIDS+=("$FAKE_PID")
for i in $(seq 1 100); do
  FAKE_PORT=$(grep -oE '[0-9]{2,5}' "$BENCH_TMP/fake.out" | tail -1 || true)
  [ -n "$FAKE_PORT" ] && break
  sleep 0.1
done
echo "fake-provider: $(cat "$BENCH_TMP/fake.out")"
loadgen --http "127.0.0.1:$FAKE_PORT" --model bench-model --concurrency 64 --requests "$N" --pid "$FAKE_PID" --label "fake-provider (Swift)" --json
echo "fake-provider RSS after $N requests: $(awk '/VmRSS/{printf "%.1f MB", $2/1024}' /proc/$FAKE_PID/status)"
loadgen --http "127.0.0.1:$FAKE_PORT" --model bench-model --concurrency 64 --requests "$N" --pid "$FAKE_PID" --label "fake-provider (Swift) again" --json
echo "fake-provider RSS after $((2 * N)) requests: $(awk '/VmRSS/{printf "%.1f MB", $2/1024}' /proc/$FAKE_PID/status)"
