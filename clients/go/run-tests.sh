#!/usr/bin/env bash
# The Go client's tests: generates the message types with protoc-gen-go from
# proto/switchboard/v1/switchboard.proto (into a temp GOPATH, nothing committed),
# then runs `go test` against the real daemon (clients/testing/daemon.sh).
# Needs Debian's golang-go, protoc-gen-go and golang-google-protobuf-dev (offline:
# GOPATH mode against /usr/share/gocode). Skipped, visibly, only when the daemon
# binary does not exist.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
for t in go protoc protoc-gen-go; do
  command -v "$t" >/dev/null || { echo "FAIL: '$t' not found (apt-get install golang-go protoc-gen-go golang-google-protobuf-dev)"; exit 1; }
done
GOCODE=/usr/share/gocode
[ -d "$GOCODE/src/google.golang.org/protobuf" ] || { echo "FAIL: $GOCODE/src/google.golang.org/protobuf missing (apt-get install golang-google-protobuf-dev)"; exit 1; }

WORK=$(mktemp -d /tmp/sbgo.XXXXXX)
cleanup_go() { rm -rf "$WORK"; }
mkdir -p "$WORK/gopath/src/switchboard" "$WORK/cache"
# The proto's go_package (switchboard/proto/switchboard/v1) is used as is: no M flag.
protoc -I "$REPO/proto" --go_out="$WORK/gopath/src" "$REPO/proto/switchboard/v1/switchboard.proto" || { echo "FAIL: protoc-gen-go"; cleanup_go; exit 1; }
cp -r "$HERE/switchboard" "$WORK/gopath/src/switchboard/"
export GO111MODULE=off GOPATH="$WORK/gopath:$GOCODE" GOCACHE="$WORK/cache" GOFLAGS= CGO_ENABLED=0
export SB_TESTDATA="$REPO/proto/testdata"

# shellcheck source=../testing/daemon.sh
. "$REPO/clients/testing/daemon.sh"
sb_daemon_start
rc=$?
status=0
if [ $rc = 77 ]; then
  echo "SKIP Go end-to-end tests: switchboardd not found at $SB_DAEMON_BIN"
  (cd "$WORK/gopath/src/switchboard/switchboard" && go test -count=1 -v -run TestWorkedExampleBytes .) || status=1
elif [ $rc != 0 ]; then
  echo "FAIL: the daemon did not start"
  status=1
else
  if ! (cd "$WORK/gopath/src/switchboard/switchboard" && SWITCHBOARD_SOCKET="$SB_SOCKET" timeout 300 go test -count=1 -v .); then
    status=1
    echo "--- daemon output ---"
    sb_daemon_log | tail -n 40
  fi
  sb_daemon_stop
fi
cleanup_go
exit $status
