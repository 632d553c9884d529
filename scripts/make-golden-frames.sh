#!/usr/bin/env bash
# Writes proto/testdata/NAME.frame for every proto/testdata/NAME.txtpb.
#
# NAME.txtpb is a text-format switchboard.v1.Frame; NAME.frame is that frame as it
# travels on the socket: 1 flags byte (0), a 4-byte big-endian payload length N,
# then the N bytes of `protoc --encode=switchboard.v1.Frame`.
# Every client's tests (Swift, Python, shell, C) decode these files, so the
# implementations stay byte-compatible. Commit both the .txtpb and the .frame.
#
# Keep map fields to one entry per message in the .txtpb files: protoc does not
# serialize maps in a deterministic order, and the .frame files must be stable.
#
# Needs: protoc (Debian protobuf-compiler).
# Usage: scripts/make-golden-frames.sh [--check]
#   --check: encode into a temp dir and fail if any committed .frame differs or is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
check=0
[ "${1:-}" = "--check" ] && check=1

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 2; }

proto_dir=$root/proto
proto_file=switchboard/v1/switchboard.proto
testdata=$root/proto/testdata
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# be32 N: writes the 4-byte big-endian encoding of N to stdout.
be32() {
  local n=$1
  printf "\\$(printf '%03o' $(((n >> 24) & 255)))\\$(printf '%03o' $(((n >> 16) & 255)))\\$(printf '%03o' $(((n >> 8) & 255)))\\$(printf '%03o' $((n & 255)))"
}

shopt -s nullglob
inputs=("$testdata"/*.txtpb)
[ ${#inputs[@]} -gt 0 ] || { echo "no .txtpb files in $testdata" >&2; exit 1; }

status=0
for src in "${inputs[@]}"; do
  name=$(basename "$src" .txtpb)
  payload=$tmp/$name.payload
  if ! protoc --proto_path="$proto_dir" --encode=switchboard.v1.Frame "$proto_file" <"$src" >"$payload"; then
    echo "failed to encode $src" >&2
    exit 1
  fi
  n=$(wc -c <"$payload" | tr -d ' ')
  out=$tmp/$name.frame
  { printf '\000'; be32 "$n"; cat "$payload"; } >"$out"
  if [ $check = 1 ]; then
    if ! cmp -s "$out" "$testdata/$name.frame"; then
      echo "stale or missing: proto/testdata/$name.frame" >&2
      status=1
    fi
  else
    cp "$out" "$testdata/$name.frame"
    echo "wrote proto/testdata/$name.frame ($((n + 5)) bytes)"
  fi
done

# A .frame without its .txtpb is an orphan.
for f in "$testdata"/*.frame; do
  name=$(basename "$f" .frame)
  if [ ! -f "$testdata/$name.txtpb" ]; then
    echo "orphan frame without a .txtpb: proto/testdata/$name.frame" >&2
    status=1
  fi
done

if [ $check = 1 ]; then
  if [ $status = 1 ]; then echo "golden frames are stale: run scripts/make-golden-frames.sh" >&2; exit 1; fi
  echo "golden frames are up to date"
fi
exit $status
