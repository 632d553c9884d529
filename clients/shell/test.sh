#!/usr/bin/env bash
# Tests for clients/shell/switchboard.sh.
#  1. every golden frame in proto/testdata decodes, and re-encodes to the same bytes;
#  2. against the real daemon ($SWITCHBOARDD, default <repo>/.build/debug/switchboardd,
#     started on a temp socket with clients/testing/switchboard-test.yaml): complete,
#     --json, stream, failover, error statuses, health, timeout, explain.
#     Skipped (with a message) ONLY when the daemon binary does not exist.
# Exit: 0 = all passed, 1 = a failure.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SB=$HERE/switchboard.sh
TESTDATA=$REPO/proto/testdata

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
not_ok() {
  failed=$((failed + 1))
  printf 'FAIL %s\n' "$1"
  [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/     | /'
}

WORK=$(mktemp -d /tmp/sbsh-test.XXXXXX)
# run NAME CMD...: runs CMD with a 60s limit; sets RC, OUT, ERR
run() {
  timeout 60 "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}

# ------------------------------------------------------------------ int64 list
# The JSON printer's list of 64-bit fields must name every (u)int64 field of the proto.
proto_int64=$(grep -oE "\b(u?int64|sint64|s?fixed64) [a-z_0-9]+ =" "$TESTDATA/../switchboard/v1/switchboard.proto" | awk '{print $2}' | sort -u)
missing=$(for f in $proto_int64; do grep -q "SB_INT64_FIELDS=.* $f " "$SB" || echo "$f"; done)
if [ -z "$missing" ]; then ok "every int64 field of the proto prints as a JSON string"; else not_ok "int64 fields missing from SB_INT64_FIELDS" "$missing"; fi
# ... and its lists of repeated fields every repeated field (else a list prints as one value).
missing=$(grep -oE "repeated [A-Za-z0-9_.]+ [a-z_0-9]+ =" "$TESTDATA/../switchboard/v1/switchboard.proto" | awk '{print $3}' | sort -u |
  while read -r f; do grep -qE "SB_REPEATED_(MSG|SCALAR)=.* $f " "$SB" || echo "$f"; done)
if [ -z "$missing" ]; then ok "every repeated field of the proto prints as a JSON list"; else not_ok "repeated fields missing from SB_REPEATED_*" "$missing"; fi

# ------------------------------------------------------------------ golden frames
shopt -s nullglob
frames=("$TESTDATA"/*.frame)
if [ ${#frames[@]} -eq 0 ]; then
  not_ok "golden frames exist in proto/testdata"
fi
for f in "${frames[@]}"; do
  name=$(basename "$f" .frame)
  if "$SB" decode-frame "$f" >"$WORK/g.txt" 2>"$WORK/g.err" &&
    "$SB" encode-frame <"$WORK/g.txt" >"$WORK/g.frame" 2>>"$WORK/g.err" &&
    cmp -s "$WORK/g.frame" "$f"; then
    ok "golden $name decodes and re-encodes byte for byte"
  else
    not_ok "golden $name" "$(cat "$WORK/g.err")"
  fi
done

# JSON conversion of a golden response (sourcing the script defines its functions)
json=$(
  # shellcheck source=switchboard.sh
  . "$SB"
  text=$("$SB" decode-frame "$TESTDATA/completion_response.frame")
  tp_body "$text" completion_response | tp_to_json
)
case $json in
  *'"content":"It is 21°C in Zürich."'*'"usage":{"input_tokens":120,'*'"cost_usd":0.00012,'*'"warnings":["budget_soft_limit"]}')
    ok "golden completion_response converts to JSON" ;;
  *) not_ok "golden completion_response converts to JSON" "$json" ;;
esac
if command -v python3 >/dev/null && ! printf '%s' "$json" | python3 -m json.tool >/dev/null 2>&1; then
  not_ok "golden JSON is valid JSON" "$json"
fi

run "$SB" decode-frame "$TESTDATA/status_unavailable.txtpb"
[ $RC -ne 0 ] && ok "decode-frame rejects a non-frame file" || not_ok "decode-frame rejects a non-frame file"

# ------------------------------------------------------------------ real daemon
# shellcheck source=../testing/daemon.sh
. "$REPO/clients/testing/daemon.sh"
sb_daemon_start
start=$?
if [ $start = 77 ]; then
  echo "SKIP daemon tests: switchboardd not found at $SB_DAEMON_BIN"
elif [ $start != 0 ]; then
  not_ok "daemon starts"
else
  S=(--socket "$SB_SOCKET")

  run "$SB" complete "${S[@]}" --route default --max-tokens 64 "Say hello"
  [ $RC = 0 ] && [ -n "$OUT" ] && ok "complete prints the answer" || not_ok "complete prints the answer" "rc=$RC out=$OUT err=$ERR"

  run "$SB" complete "${S[@]}" --route default --temperature .2 --tenant sh-tests --tag suite=shell --system "Be brief." "Hi"
  [ $RC = 0 ] && [ -n "$OUT" ] && ok "complete with options" || not_ok "complete with options" "rc=$RC out=$OUT err=$ERR"

  run "$SB" complete "${S[@]}" --route default --json --request-id sh-req-1 "Say hello"
  if [ $RC = 0 ] && [[ $OUT == '{'*'"content":"'?*'"provider":"'?*'}' ]] && [[ $OUT == *'"request_id":"'?*'"'* ]] && [[ $OUT != *'"request_id":"sh-req-1"'* ]]; then
    ok "complete --json prints the response as JSON"
  else
    not_ok "complete --json prints the response as JSON" "rc=$RC out=$OUT err=$ERR"
  fi
  if command -v python3 >/dev/null && ! printf '%s' "$OUT" | python3 -m json.tool >/dev/null 2>&1; then
    not_ok "complete --json output is valid JSON" "$OUT"
  fi

  # The daemon issues request ids (the client's sh-req-1 is only a correlation id).
  RID=""
  [[ $OUT =~ \"request_id\":\"([^\"]+)\" ]] && RID=${BASH_REMATCH[1]}
  run "$SB" explain "${S[@]}" "$RID"
  [ $RC = 0 ] && [ -n "$OUT" ] && ok "explain prints the decision" || not_ok "explain prints the decision" "rc=$RC out=$OUT err=$ERR"

  run "$SB" stream "${S[@]}" --route default "Tell me a story"
  [ $RC = 0 ] && [ -n "$OUT" ] && ok "stream prints the deltas" || not_ok "stream prints the deltas" "rc=$RC out=$OUT err=$ERR"

  run "$SB" stream "${S[@]}" --route default --json "Tell me a story"
  first=$(printf '%s\n' "$OUT" | head -n 1)
  last=$(printf '%s\n' "$OUT" | tail -n 1)
  if [ $RC = 0 ] && [[ $first == '{"delta":'* ]] && [[ $last == '{"response":{'*'"content":"'?* ]]; then
    ok "stream --json prints one event per line, the response last"
  else
    not_ok "stream --json prints one event per line, the response last" "rc=$RC out=$OUT err=$ERR"
  fi

  run "$SB" complete "${S[@]}" --route failover --json "Hi"
  attempts=$(printf '%s' "$OUT" | grep -o '"attempts":[0-9]*' | head -n 1 | cut -d: -f2)
  if [ $RC = 0 ] && [ "${attempts:-0}" -ge 2 ] && [[ $OUT == *'"provider":"sim-a"'* ]]; then
    ok "failover route answers from sim-a after >= 2 attempts"
  else
    not_ok "failover route answers from sim-a after >= 2 attempts" "rc=$RC out=$OUT err=$ERR"
  fi

  run "$SB" stream "${S[@]}" --route failover "Hi"
  [ $RC = 0 ] && [ -n "$OUT" ] && ok "stream on the failover route" || not_ok "stream on the failover route" "rc=$RC out=$OUT err=$ERR"

  run "$SB" complete "${S[@]}" --route doomed "Hi"
  if [ $RC = 1 ] && [[ $ERR =~ UNAVAILABLE\ \([a-z0-9_]+\) ]]; then
    ok "doomed route: exit 1, UNAVAILABLE with a reason code"
  else
    not_ok "doomed route: exit 1, UNAVAILABLE with a reason code" "rc=$RC out=$OUT err=$ERR"
  fi

  run "$SB" stream "${S[@]}" --route doomed "Hi"
  if [ $RC = 1 ] && [[ $ERR =~ UNAVAILABLE\ \([a-z0-9_]+\) ]]; then
    ok "doomed route stream: exit 1, UNAVAILABLE"
  else
    not_ok "doomed route stream: exit 1, UNAVAILABLE" "rc=$RC out=$OUT err=$ERR"
  fi

  run "$SB" complete "${S[@]}" --route no-such-route "Hi"
  if [ $RC = 1 ] && [[ $ERR == *"NOT_FOUND (unknown_route)"* ]]; then
    ok "unknown route: exit 1, NOT_FOUND (unknown_route)"
  else
    not_ok "unknown route: exit 1, NOT_FOUND (unknown_route)" "rc=$RC out=$OUT err=$ERR"
  fi

  run "$SB" health "${S[@]}"
  [ $RC = 0 ] && [[ $OUT == serving* ]] && ok "health: serving, exit 0" || not_ok "health: serving, exit 0" "rc=$RC out=$OUT err=$ERR"

  run "$SB" health "${S[@]}" --json
  [ $RC = 0 ] && [[ $OUT == *'"serving":true'* ]] && ok "health --json" || not_ok "health --json" "rc=$RC out=$OUT err=$ERR"

  t0=$(date +%s%N)
  run "$SB" complete "${S[@]}" --route slow --timeout 0.3 "slow"
  ms=$((($(date +%s%N) - t0) / 1000000))
  if [ $RC = 1 ] && [[ $ERR == *DEADLINE_EXCEEDED* ]] && [ $ms -lt 5000 ]; then
    ok "--timeout ends a slow call with DEADLINE_EXCEEDED (${ms}ms)"
  else
    not_ok "--timeout ends a slow call with DEADLINE_EXCEEDED" "rc=$RC ms=$ms out=$OUT err=$ERR"
  fi

  run "$SB" complete --socket "$SB_TMPDIR/missing.sock" "Hi"
  if [ $RC = 3 ] && [[ $ERR == *"is switchboardd running?"*"SWITCHBOARD_SOCKET"* ]]; then
    ok "missing socket: exit 3 with a hint"
  else
    not_ok "missing socket: exit 3 with a hint" "rc=$RC err=$ERR"
  fi

  # Global options before the command, as after it.
  run "$SB" --socket "$SB_SOCKET" --route default complete "Options first"
  [ $RC = 0 ] && [ -n "$OUT" ] && ok "options before the command" || not_ok "options before the command" "rc=$RC out=$OUT err=$ERR"
  run "$SB" --socket="$SB_SOCKET" --json health
  [ $RC = 0 ] && [[ $OUT == *'"serving":true'* ]] && ok "--socket=PATH --json before health" || not_ok "--socket=PATH --json before health" "rc=$RC out=$OUT err=$ERR"
  run "$SB" --socket "$SB_SOCKET"
  [ $RC = 2 ] && ok "options without a command: usage error" || not_ok "options without a command: usage error" "rc=$RC err=$ERR"

  # JSON conventions of the CLI: 64-bit integers are strings, 32-bit ones numbers.
  run "$SB" health "${S[@]}" --json
  if [ $RC = 0 ] && [[ $OUT =~ \"uptime_ms\":\"[0-9]+\" ]] && [[ $OUT =~ \"consecutive_failures\":[0-9]+ || $OUT != *consecutive_failures* ]]; then
    ok "health --json: uint64 uptime_ms as a string"
  else
    not_ok "health --json: uint64 uptime_ms as a string" "rc=$RC out=$OUT err=$ERR"
  fi
  run "$SB" explain "${S[@]}" --json sh-req-1
  if [ $RC = 0 ] && [[ $OUT =~ \"timestamp_ms\":\"[0-9]+\" ]] && [[ $OUT =~ \"total_latency_ms\":[0-9]+ ]]; then
    ok "explain --json: int64 timestamp_ms as a string, uint32 as a number"
  else
    not_ok "explain --json: int64 timestamp_ms as a string, uint32 as a number" "rc=$RC out=$OUT err=$ERR"
  fi
  CLI=$REPO/.build/debug/switchboard
  if [ -x "$CLI" ]; then
    # The same decision from the CLI and the shell client: the CLI prints the decision's
    # one JSON shape (docs/decision-event.schema.json), which the shell client's proto
    # JSON carries as the response's event_json; its event is the proto's view of it.
    cli_json=$("$CLI" explain --socket "$SB_SOCKET" --json sh-req-1 2>&1)
    sh_json=$("$SB" explain --socket "$SB_SOCKET" --json sh-req-1 2>&1)
    if command -v python3 >/dev/null; then
      cmp_out=$(python3 - "$cli_json" "$sh_json" <<'PY'
import json, sys
cli = json.loads(sys.argv[1]); sh = json.loads(sys.argv[2])
shape = json.loads(sh["event_json"])
ev = sh["event"]
ok = shape == cli and ev["request_id"] == cli["request_id"] and ev["route"] == cli["route"] \
    and int(ev["timestamp_ms"]) == cli["timestamp_ms"] and len(ev["attempts"]) == len(cli["attempts"])
print("same" if ok else f"cli={cli}\nsh={sh}")
PY
)
      [ "$cmp_out" = same ] && ok "CLI and shell client print the same decision" || not_ok "CLI and shell client print the same decision" "$cmp_out"
    fi
    run "$CLI" complete --socket "$SB_TMPDIR/missing.sock" "Hi"
    if [ $RC != 0 ] && [[ $ERR == *"is switchboardd running?"* ]] && [[ $ERR != *"connect(descriptor"* ]]; then
      ok "CLI: missing socket gets a human error with a hint"
    else
      not_ok "CLI: missing socket gets a human error with a hint" "rc=$RC err=$ERR"
    fi
    run "$CLI" complete --socket "$SB_SOCKET" --route no-such-route "Hi"
    if [ $RC = 1 ] && [[ $ERR == *"NOT_FOUND (unknown_route)"* ]]; then
      ok "CLI: status names as in the proto (NOT_FOUND)"
    else
      not_ok "CLI: status names as in the proto (NOT_FOUND)" "rc=$RC err=$ERR"
    fi
    run "$CLI" complete --socket "$SB_SOCKET" --route default --tag suite=cli --request-id cli-req-1 --timeout 10 --json "Hi"
    if [ $RC = 0 ] && [[ $OUT == *'"correlation_id":"cli-req-1"'* ]]; then
      ok "CLI: complete --tag --request-id --timeout"
    else
      not_ok "CLI: complete --tag --request-id --timeout" "rc=$RC out=$OUT err=$ERR"
    fi
    run "$CLI" complete --socket "$SB_SOCKET" --route slow --timeout 0.3 "slow"
    if [ $RC = 1 ] && [[ $ERR == *"DEADLINE_EXCEEDED"* ]] && [[ $ERR == *"request_id="* ]]; then
      ok "CLI: --timeout ends a slow call with DEADLINE_EXCEEDED and its request id"
    else
      not_ok "CLI: --timeout ends a slow call with DEADLINE_EXCEEDED and its request id" "rc=$RC out=$OUT err=$ERR"
    fi
  else
    not_ok "CLI binary exists at $CLI (build it with swift build)"
  fi

  if [ $failed -gt 0 ]; then
    echo "--- daemon output ---"
    sb_daemon_log | tail -n 50
  fi
  sb_daemon_stop
fi

rm -rf "$WORK"
echo "shell client: $passed passed, $failed failed"
[ $failed = 0 ]
