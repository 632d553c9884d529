#!/usr/bin/env bash
# A/B (or A/B/C...) of daemon settings in one run: each arm is a set of environment
# variables for switchboardd (and optionally its own binary), started fresh per
# round, arms interleaved A B A B ... so all see the same machine load. Per round
# and arm: over HTTP to the C mock, closed loop c=64 and c=1, open loop 1,000 and
# 5,000 req/s (latency from each request's scheduled send time); then the
# zero-latency simulated provider, closed loop c=64. Prints each run and the
# medians over rounds of daemon CPU per request (from /proc), req/s, p50 and p99,
# and each arm's CPU per request relative to the first arm.
#
#   bench/ab-executor.sh [REQUESTS] [ROUNDS]    default 20000 per closed-loop run, 3 rounds
#   BENCH_PIN=1 bench/ab-executor.sh            daemon on CPU 0, mock + load generator on CPU 1
#   AB_ARMS='NAME:VAR=VALUE,VAR=VALUE NAME:...' the arms (default: the two executors,
#                                               SWITCHBOARD_EXECUTOR=cooperative and =nio);
#                                               SWITCHBOARDD=PATH in an arm runs that binary
#   AB_CASES='c64 c1 open1000 open5000 sim64'   which cases to run (default: all)
#
# Example: the executor and the event-loop count, against a saved baseline binary:
#   AB_ARMS='base:SWITCHBOARDD=/tmp/base-switchboardd nio:SWITCHBOARD_EXECUTOR=nio
#            nio1:SWITCHBOARD_EXECUTOR=nio,NIO_SINGLETON_GROUP_LOOP_COUNT=1' BENCH_PIN=1 bench/ab-executor.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-20000}
ROUNDS=${2:-3}
ARMS=${AB_ARMS:-"cooperative:SWITCHBOARD_EXECUTOR=cooperative nio:SWITCHBOARD_EXECUTOR=nio"}
CASES=${AB_CASES:-"c64 c1 open1000 open5000 sim64"}
load_note
mock_start
yaml_http "" false >"$BENCH_TMP/http.yaml"
yaml_sim "" false >"$BENCH_TMP/sim.yaml"
RESULTS=$BENCH_TMP/ab.jsonl
BASE_SWITCHBOARDD=$SWITCHBOARDD
ARM_VARS=()

arm_enter() { # NAME:VAR=VALUE,...: exports the arm's variables
  local spec=${1#*:} kv
  ARM_VARS=()
  [ "$spec" = "$1" ] && return 0
  IFS=, read -r -a kvs <<<"$spec"
  for kv in "${kvs[@]}"; do
    [ -n "$kv" ] || continue
    export "${kv%%=*}=${kv#*=}"
    ARM_VARS+=("${kv%%=*}")
  done
}
arm_leave() {
  local v
  for v in "${ARM_VARS[@]}"; do unset "$v"; done
  SWITCHBOARDD=$BASE_SWITCHBOARDD
}
has_case() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
run_case() { # arm case loadgen-args...
  local arm=$1 name=$2; shift 2
  has_case "$name" || return 0
  loadgen --socket "$SOCKET" --route bench "$@" --pid "$DAEMON_PID" --label "$arm $name" --json \
    | tee "$BENCH_TMP/out" | grep -v '^{' || true
  grep '^{' "$BENCH_TMP/out" | sed "s/^{/{\"arm\":\"$arm\",\"case\":\"$name\",/" >>"$RESULTS" || true
}

for round in $(seq 1 "$ROUNDS"); do
  for arm_spec in $ARMS; do
    arm=${arm_spec%%:*}
    arm_enter "$arm_spec"
    if has_case c64 || has_case c1 || has_case open1000 || has_case open5000; then
      daemon_start "$BENCH_TMP/http.yaml"
      echo "== round $round, $arm over HTTP ($(cut -d' ' -f1 /proc/loadavg) load)"
      run_case "$arm" c64 --concurrency 64 --requests "$N"
      run_case "$arm" c1 --concurrency 1 --connections 1 --requests $((N / 10))
      run_case "$arm" open1000 --rate 1000 --requests 5000
      run_case "$arm" open5000 --rate 5000 --requests 25000
      daemon_stop
    fi
    if has_case sim64; then
      daemon_start "$BENCH_TMP/sim.yaml"
      echo "== round $round, $arm, simulated provider ($(cut -d' ' -f1 /proc/loadavg) load)"
      run_case "$arm" sim64 --concurrency 64 --requests $((N * 2))
      daemon_stop
    fi
    arm_leave
  done
done
load_note
python3 - "$RESULTS" "$ARMS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
arms = [a.split(":", 1)[0] for a in sys.argv[2].split()]
print("\nmedians over rounds (daemon CPU from /proc; same run, interleaved):")
print(f"{'case':10} {'arm':12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'daemon us/req':>14} {'x first':>8} {'failed':>7}")
for case in ["c64", "c1", "open1000", "open5000", "sim64"]:
    first = None
    for arm in arms:
        rs = [r for r in rows if r["case"] == case and r["arm"] == arm]
        if not rs: continue
        med = lambda k: statistics.median(r[k] for r in rs)
        cpu = statistics.median(r["cpu_us"][0] for r in rs)
        first = first or cpu
        print(f"{case:10} {arm:12} {med('rps'):8.0f} {med('p50_ms'):8.3f} {med('p99_ms'):8.3f} {cpu:14.1f} "
              f"{cpu / first:7.2f}x {sum(r['failed'] for r in rs):7d}")
PY
