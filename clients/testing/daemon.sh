# Sourced by the shell and C client test drivers: starts and stops the real daemon.
#
#   . clients/testing/daemon.sh
#   sb_daemon_start || exit $?     # returns 77 (skip) when the binary does not exist
#   ... use "$SB_SOCKET" ...
#   sb_daemon_stop                 # also installed as an EXIT trap
#
# The binary is $SWITCHBOARDD, default <repo>/.build/debug/switchboardd.
# The config is clients/testing/switchboard-test.yaml; the socket lives in a fresh
# temp dir. Needs socat to probe the socket.

SB_TESTING_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SB_REPO_ROOT=$(cd "$SB_TESTING_DIR/../.." && pwd)
SB_DAEMON_BIN=${SWITCHBOARDD:-$SB_REPO_ROOT/.build/debug/switchboardd}
SB_CONFIG=$SB_TESTING_DIR/switchboard-test.yaml
SB_DAEMON_PID=
SB_TMPDIR=
SB_SOCKET=

sb_daemon_stop() {
  if [ -n "$SB_DAEMON_PID" ]; then
    if kill -0 "$SB_DAEMON_PID" 2>/dev/null; then
      kill -TERM "$SB_DAEMON_PID" 2>/dev/null
      local i
      for i in $(seq 1 100); do
        kill -0 "$SB_DAEMON_PID" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$SB_DAEMON_PID" 2>/dev/null && kill -KILL "$SB_DAEMON_PID" 2>/dev/null
    fi
    wait "$SB_DAEMON_PID" 2>/dev/null
    SB_DAEMON_PID=
  fi
  if [ -n "$SB_TMPDIR" ]; then
    rm -rf "$SB_TMPDIR"
    SB_TMPDIR=
  fi
}

# sb_daemon_start: 0 = running (SB_SOCKET set), 77 = binary missing (skip), 1 = failed.
sb_daemon_start() {
  if [ ! -x "$SB_DAEMON_BIN" ]; then
    echo "SKIP: switchboardd not found at $SB_DAEMON_BIN (build it with 'swift build' or set SWITCHBOARDD)" >&2
    return 77
  fi
  SB_TMPDIR=$(mktemp -d /tmp/sbtest.XXXXXX)
  SB_SOCKET=$SB_TMPDIR/switchboard.sock
  trap sb_daemon_stop EXIT
  "$SB_DAEMON_BIN" --config "$SB_CONFIG" --socket "$SB_SOCKET" >"$SB_TMPDIR/daemon.log" 2>&1 &
  SB_DAEMON_PID=$!
  local i
  for i in $(seq 1 300); do
    if ! kill -0 "$SB_DAEMON_PID" 2>/dev/null; then
      echo "switchboardd exited during startup; its output:" >&2
      cat "$SB_TMPDIR/daemon.log" >&2
      SB_DAEMON_PID=
      return 1
    fi
    if [ -S "$SB_SOCKET" ] && socat -u OPEN:/dev/null UNIX-CONNECT:"$SB_SOCKET" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "switchboardd did not open $SB_SOCKET within 30s; its output:" >&2
  cat "$SB_TMPDIR/daemon.log" >&2
  return 1
}

# sb_daemon_log: prints the daemon's output so far (for failure reports).
sb_daemon_log() {
  [ -n "$SB_TMPDIR" ] && [ -f "$SB_TMPDIR/daemon.log" ] && cat "$SB_TMPDIR/daemon.log"
}
