#!/usr/bin/env bash
# Smoke test of the harness (run by scripts/test.sh, seconds, any build):
# the C tools build with -Werror; the mock answers unary and streamed requests;
# the load generator completes closed- and open-loop runs over HTTP and over the
# daemon's socket (simulated provider and the HTTP path to the mock, unary and
# streamed); and its open loop is coordinated-omission corrected: with at most 8
# calls in flight and the upstream frozen for 300 ms, the requests scheduled
# during the freeze must show it (p99 >= 100 ms), which a generator timing from
# its actual send would hide.
#
#   bench/selftest.sh          SWITCHBOARDD defaults to .build/debug/switchboardd here
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export SWITCHBOARDD=${SWITCHBOARDD:-$BENCH_DIR/../.build/debug/switchboardd}
BENCH_ALLOW_NO_DAEMON=1 . "$BENCH_DIR/lib.sh"
passed=0; failed=0
check() { # name, command...
  if out=$("${@:2}" 2>&1); then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1"; echo "$out" | tail -5; fi
}
ok_all() { # N, loadgen args...: exit 0 and ok=N
  local n=$1; shift
  local out; out=$(loadgen "$@") || { echo "$out"; return 1; }
  echo "$out" | grep -q " ok=$n failed=0 " || { echo "$out"; return 1; }
}
mock_start
post() { # body -> response text
  python3 -c 'import sys, urllib.request as u; print(u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"content-type": "application/json"})).read().decode())' \
    "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" "$1"
}
check "mock: unary answer" bash -c "$(declare -f post); MOCK_PORT=$MOCK_PORT; post '{\"model\":\"m\"}' | grep -q '\"content\":\"pong pong pong pong\"'"
check "mock: streamed answer ends with [DONE]" bash -c "$(declare -f post); MOCK_PORT=$MOCK_PORT; post '{\"stream\":true}' | grep -q 'data: \[DONE\]'"
check "loadgen http closed loop" ok_all 2000 --http "127.0.0.1:$MOCK_PORT" --concurrency 16 --requests 2000 --warmup 100
check "loadgen http open loop" ok_all 1000 --http "127.0.0.1:$MOCK_PORT" --rate 2000 --requests 1000 --warmup 0

co_corrected() {
  loadgen --http "127.0.0.1:$MOCK_PORT" --rate 1000 --requests 1500 --warmup 0 --max-inflight 8 --connections 8 --json \
    >"$BENCH_TMP/co.out" 2>&1 &
  local lg=$!
  sleep 0.5; kill -STOP "$MOCK_PID"; sleep 0.3; kill -CONT "$MOCK_PID"
  wait "$lg" || { cat "$BENCH_TMP/co.out"; return 1; }
  python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][0]; print(r); sys.exit(0 if r["p99_ms"] >= 100 else 1)' "$BENCH_TMP/co.out"
}
check "open loop counts a 300 ms upstream freeze (coordinated omission)" co_corrected

if [ -x "$SWITCHBOARDD" ]; then
  yaml_sim "" false >"$BENCH_TMP/sim.yaml"
  daemon_start "$BENCH_TMP/sim.yaml"
  check "socket: closed loop, simulated provider" ok_all 2000 --socket "$SOCKET" --route bench --concurrency 32 --requests 2000 --pid "$DAEMON_PID"
  check "socket: open loop, simulated provider" ok_all 500 --socket "$SOCKET" --route bench --rate 1000 --requests 500 --warmup 0
  daemon_stop
  yaml_http "" false >"$BENCH_TMP/http.yaml"
  daemon_start "$BENCH_TMP/http.yaml"
  check "socket -> daemon -> mock over HTTP, unary" ok_all 2000 --socket "$SOCKET" --route bench --concurrency 32 --requests 2000 --pid "$DAEMON_PID" --pid "$MOCK_PID"
  check "socket -> daemon -> mock over HTTP, streamed" ok_all 1000 --socket "$SOCKET" --route bench --stream --concurrency 32 --requests 1000
  daemon_stop
  # HTTPS to a provider across processes: the daemon binary trusts the fake's test CA
  # by ca_file; both provider clients (lean TLS, AsyncHTTPClient) answer every call.
  tls_ab() {
    local out; out=$(FAKE_PROVIDER="$(dirname "$SWITCHBOARDD")/fake-provider" "$BENCH_DIR/ab-tls.sh" 400 1 2>&1) || { echo "$out"; return 1; }
    echo "$out" | grep -q "^c32 *asynchttpclient .* 0 " && echo "$out" | grep -q "^c32 *lean .* 0 " || { echo "$out"; return 1; }
  }
  if [ -x "$(dirname "$SWITCHBOARDD")/fake-provider" ]; then
    check "socket -> daemon -> fake provider over HTTPS (ca_file), both clients" tls_ab
  else
    echo "skip: no fake-provider next to $SWITCHBOARDD (TLS check)"
  fi
  ab_smoke() { # one short round of bench/ab-executor.sh: both arms answer everything
    AB_CASES="c1 sim64" "$BENCH_DIR/ab-executor.sh" 200 1 >"$BENCH_TMP/ab.out" 2>&1 || { tail -20 "$BENCH_TMP/ab.out"; return 1; }
    awk '/^medians/{m=1} m && ($1=="c1" || $1=="sim64"){n++; if ($NF!=0) bad=1} END{exit !(n==4 && !bad)}' "$BENCH_TMP/ab.out" \
      || { cat "$BENCH_TMP/ab.out"; return 1; }
  }
  check "ab-executor.sh: one short round, both executors" ab_smoke
  inflight_smoke() { # bench/inflight.sh: 100 streams held at once, all answered, a peak RSS printed
    C=100 LAT=300 "$BENCH_DIR/inflight.sh" >"$BENCH_TMP/inflight.out" 2>&1 || { tail -20 "$BENCH_TMP/inflight.out"; return 1; }
    grep -q "ok=100 failed=0" "$BENCH_TMP/inflight.out" && grep -Eq "^peak rss_mb=[1-9][0-9]* with 100 calls" "$BENCH_TMP/inflight.out" \
      || { cat "$BENCH_TMP/inflight.out"; return 1; }
  }
  check "inflight.sh: 100 streams held at once, peak RSS" inflight_smoke
  durable_smoke() { # bench/durable.sh: the disk probe, then one short round of each audit, all answered
    "$BENCH_DIR/durable.sh" 300 500 1 >"$BENCH_TMP/durable.out" 2>&1 || { tail -20 "$BENCH_TMP/durable.out"; return 1; }
    grep -Eq "^disk alone: 2000 x \(8 pages \+ fdatasync\) p50=[0-9.]+ " "$BENCH_TMP/durable.out" \
      && [ "$(grep -c "ok=300 failed=0" "$BENCH_TMP/durable.out")" = 2 ] || { cat "$BENCH_TMP/durable.out"; return 1; }
  }
  frames_smoke() { # bench/async-frames.py reads the executor's frame size off the binary
    python3 "$BENCH_DIR/async-frames.py" "$SWITCHBOARDD" "RequestExecutor.run(start:" 1 | grep -Eq "^ *[1-9][0-9]+  SwitchboardCore.RequestExecutor.run"
  }
  check "async-frames.py: the executor's frame size off the binary" frames_smoke
  check "durable.sh: disk probe, one round of the durable and the in-memory audit" durable_smoke
else
  echo "skip: no daemon at $SWITCHBOARDD (socket checks)"
fi
echo "bench selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
