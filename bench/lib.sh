# Sourced by the bench scripts: builds the tools, starts and stops the daemon and
# the mock. Everything started here is stopped by bench_cleanup (an EXIT trap).
#
#   SWITCHBOARDD  the daemon binary (default <repo>/.build/release/switchboardd)
#   BENCH_PIN=1   pin the daemon to CPU 0 and the mock + load generator to CPU 1
#                 (taskset), as in the issue's method: "daemon on one core"
#   MEMORY_BUDGET_MB=N  audit.memory_budget_mb in the generated configs (default: the daemon's)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
SWITCHBOARDD=${SWITCHBOARDD:-$REPO_ROOT/.build/release/switchboardd}
LOADGEN=$BENCH_DIR/build/loadgen
MOCK=$BENCH_DIR/build/mock_openai
BENCH_TMP=$(mktemp -d /tmp/sbbench.XXXXXX)
BENCH_PIDS=()
DAEMON_PID=
MOCK_PID=
MOCK_PORT=

bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${BENCH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

make -s -C "$BENCH_DIR" >/dev/null || { echo "bench: cannot build the C tools" >&2; exit 1; }
if [ ! -x "$SWITCHBOARDD" ] && [ -z "${BENCH_ALLOW_NO_DAEMON:-}" ]; then
  echo "bench: $SWITCHBOARDD not found (swift build -c release, or set SWITCHBOARDD)" >&2
  exit 1
fi

pin() { # pin CPU cmd...
  if [ "${BENCH_PIN:-0}" = 1 ] && command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi
}

# pin_exec CPU cmd...: the same, replacing the (background) subshell, so $! is the process itself.
pin_exec() {
  if [ "${BENCH_PIN:-0}" = 1 ] && command -v taskset >/dev/null; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi
}

# mock_start: starts the C mock upstream; sets MOCK_PID, MOCK_PORT.
mock_start() {
  (pin_exec 1 "$MOCK" --port 0 >"$BENCH_TMP/mock.out" 2>&1) &
  MOCK_PID=$!
  BENCH_PIDS+=("$MOCK_PID")
  local i
  for i in $(seq 1 100); do
    MOCK_PORT=$(awk '/^port/{print $2}' "$BENCH_TMP/mock.out" 2>/dev/null)
    [ -n "$MOCK_PORT" ] && return 0
    sleep 0.05
  done
  echo "bench: the mock did not start" >&2
  exit 1
}

# daemon_start YAML_FILE: starts switchboardd on a fresh socket; sets DAEMON_PID, SOCKET.
daemon_start() {
  SOCKET=$BENCH_TMP/sb-$RANDOM.sock
  (pin_exec 0 "$SWITCHBOARDD" --config "$1" --socket "$SOCKET" >"$BENCH_TMP/daemon.log" 2>&1) &
  DAEMON_PID=$!
  BENCH_PIDS+=("$DAEMON_PID")
  local i
  for i in $(seq 1 300); do
    [ -S "$SOCKET" ] && return 0
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
      echo "bench: switchboardd exited:" >&2
      cat "$BENCH_TMP/daemon.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "bench: switchboardd did not open its socket" >&2
  exit 1
}

daemon_stop() {
  [ -n "$DAEMON_PID" ] || return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null || true
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
}

# loadgen ARGS...: the load generator, on the mock's core when pinned.
loadgen() { pin 1 "$LOADGEN" "$@"; }

# yaml_http AUDIT_PATH DURABLE: a daemon config routing `bench` to the mock.
yaml_http() {
  cat <<YAML
listen: {max_in_flight_per_connection: 4096, max_in_flight: 16384}
logging: {level: error}
audit: {path: "$1", durable_responses: $2${MEMORY_BUDGET_MB:+, memory_budget_mb: $MEMORY_BUDGET_MB}}
providers:
  mock: {kind: openai, preset: vllm, base_url: "http://127.0.0.1:$MOCK_PORT/v1"}
models:
  mock/bench-model: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
routes:
  bench: {candidates: [mock/bench-model]}
YAML
}

# yaml_sim AUDIT_PATH DURABLE: a daemon config with a zero-latency simulated provider.
yaml_sim() {
  cat <<YAML
listen: {max_in_flight_per_connection: 4096, max_in_flight: 16384}
logging: {level: error}
audit: {path: "$1", durable_responses: $2${MEMORY_BUDGET_MB:+, memory_budget_mb: $MEMORY_BUDGET_MB}}
providers:
  instant: {kind: simulated, latency_ms: {p50: 0, p99: 0}, output_tokens: 8}
models:
  instant/echo: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
routes:
  bench: {candidates: [instant/echo]}
YAML
}

load_note() {
  echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
}

# ab_clients YAML TITLE SPEC...: the A/B of the provider HTTP client in one run, for
# ab-client.sh and ab-tls.sh. ROUNDS rounds of AsyncHTTPClient (SWITCHBOARD_PROVIDER_
# HTTP_CLIENT=asynchttpclient) then the lean client, interleaved, the daemon started on
# YAML each time; each SPEC is "NAME:LOADGEN-ARGS" run over the socket. Prints every
# run, then per case the medians (req/s, p50, p99, failures, daemon CPU per request
# from /proc) and lean / AsyncHTTPClient CPU.
ab_clients() {
  local yaml=$1 title=$2; shift 2
  local results=$BENCH_TMP/ab.jsonl round client spec name cases=""
  for spec in "$@"; do cases="$cases ${spec%%:*}"; done
  for round in $(seq 1 "${ROUNDS:-3}"); do
    for client in asynchttpclient lean; do
      if [ "$client" = asynchttpclient ]; then export SWITCHBOARD_PROVIDER_HTTP_CLIENT=asynchttpclient
      else unset SWITCHBOARD_PROVIDER_HTTP_CLIENT; fi
      daemon_start "$yaml"
      echo "== round $round, $client, $title ($(cut -d' ' -f1 /proc/loadavg) load)"
      for spec in "$@"; do
        name=${spec%%:*}
        # shellcheck disable=SC2086
        loadgen --socket "$SOCKET" --route bench ${spec#*:} --pid "$DAEMON_PID" --label "$client $name" --json \
          | tee "$BENCH_TMP/out" | grep -v '^{' || true
        grep '^{' "$BENCH_TMP/out" | sed "s/^{/{\"client\":\"$client\",\"case\":\"$name\",/" >>"$results"
      done
      daemon_stop
    done
  done
  unset SWITCHBOARD_PROVIDER_HTTP_CLIENT
  python3 - "$results" "$title" $cases <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"\nmedians over rounds, {sys.argv[2]} (daemon CPU from /proc; same binary, same run, interleaved):")
print(f"{'case':10} {'client':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'fail':>5} {'daemon us/req':>14}")
for case in sys.argv[3:]:
    for client in ["asynchttpclient", "lean"]:
        rs = [r for r in rows if r["case"] == case and r["client"] == client]
        if not rs: continue
        med = lambda k: statistics.median(r[k] for r in rs)
        cpu = statistics.median(r["cpu_us"][0] for r in rs)
        fails = sum(r.get("failed", 0) for r in rs)
        print(f"{case:10} {client:16} {med('rps'):8.0f} {med('p50_ms'):8.3f} {med('p99_ms'):8.3f} {fails:5} {cpu:14.1f}")
    a = [r["cpu_us"][0] for r in rows if r["case"] == case and r["client"] == "asynchttpclient"]
    b = [r["cpu_us"][0] for r in rows if r["case"] == case and r["client"] == "lean"]
    if a and b: print(f"{case:10} {'lean / ahc CPU':16} {statistics.median(b) / statistics.median(a):8.2f}x")
PY
}
