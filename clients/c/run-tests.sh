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
  sb_daemon_stop
fi
exit $status
