#!/usr/bin/env bash
# Runs the C client's tests: golden frames, then end-to-end against the real daemon
# (started here on a temp socket; skipped ONLY when the daemon binary does not exist).
# Called by `make test` after building build/test_client and build/example.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
status=0

"$HERE/build/test_client" --golden "$REPO/proto/testdata" || status=1

# shellcheck source=../testing/daemon.sh
. "$REPO/clients/testing/daemon.sh"
sb_daemon_start
rc=$?
if [ $rc = 77 ]; then
  echo "SKIP C end-to-end tests: switchboardd not found at $SB_DAEMON_BIN"
elif [ $rc != 0 ]; then
  echo "FAIL: the daemon did not start" >&2
  status=1
else
  if ! timeout 120 "$HERE/build/test_client" --socket "$SB_SOCKET"; then
    status=1
    echo "--- daemon output ---"
    sb_daemon_log | tail -n 50
  fi
  if ! timeout 60 "$HERE/build/example" "$SB_SOCKET" default "Say hello" >/dev/null; then
    echo "FAIL: example program" >&2
    status=1
  else
    echo "ok   example program"
  fi
  if ! timeout 60 "$HERE/build/example_cpp" "$SB_SOCKET" default >/dev/null; then
    echo "FAIL: C++ example program (threads + callback API)" >&2
    status=1
  else
    echo "ok   C++ example program (threads + callback API)"
  fi
  # The concurrency tests again under ThreadSanitizer, where the toolchain has it.
  if [ -x "$HERE/build/test_client_tsan" ]; then
    if ! TSAN_OPTIONS="halt_on_error=1" timeout 300 "$HERE/build/test_client_tsan" --socket "$SB_SOCKET" >"$HERE/build/tsan.log" 2>&1; then
      echo "FAIL: test_client under ThreadSanitizer:" >&2
      tail -n 60 "$HERE/build/tsan.log" >&2
      status=1
    else
      echo "ok   test_client under ThreadSanitizer ($(tail -n 1 "$HERE/build/tsan.log"))"
    fi
  fi
  sb_daemon_stop
fi
exit $status
