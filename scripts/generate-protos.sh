#!/usr/bin/env bash
# Regenerates every language's protobuf code from proto/ and commits nothing.
#   Swift  -> Sources/SwitchboardWire/Generated/   (protoc-gen-swift, built from the swift-protobuf dependency)
#   Python -> clients/python/src/switchboard_client/_pb/
#   C      -> clients/c/generated/                 (protoc-c)
# Needs: protoc (Debian protobuf-compiler), protoc-c (protobuf-c-compiler).
# Usage: scripts/generate-protos.sh [--check]   (--check: regenerate into a temp dir and diff)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
check=0
[ "${1:-}" = "--check" ] && check=1

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 2; }
command -v protoc-c >/dev/null || { echo "protoc-c not found: apt-get install -y protobuf-c-compiler" >&2; exit 2; }

plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
  plugin="$root/.build/debug/protoc-gen-swift"
  if [ ! -x "$plugin" ]; then
    echo "building protoc-gen-swift from the swift-protobuf dependency (takes a few minutes once)..." >&2
    swift build --product protoc-gen-swift >&2
  fi
fi

out=$root
if [ $check = 1 ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
swift_out=$out/Sources/SwitchboardWire/Generated
py_out=$out/clients/python/src/switchboard_client/_pb
c_out=$out/clients/c/generated
mkdir -p "$swift_out" "$py_out" "$c_out"

protos=$(cd proto && find switchboard -name '*.proto' | sort)
(cd proto && protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$swift_out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    $protos)
(cd proto && protoc --python_out="$py_out" --pyi_out="$py_out" $protos)
(cd proto && protoc-c --c_out="$c_out" $protos)
# Python: make the generated package importable as switchboard_client._pb.switchboard.v1
find "$py_out" -type d -exec sh -c 'touch "$1/__init__.py"' _ {} \;

if [ $check = 1 ]; then
  status=0
  diff -r "$swift_out" "$root/Sources/SwitchboardWire/Generated" || status=1
  diff -r "$py_out" "$root/clients/python/src/switchboard_client/_pb" || status=1
  diff -r "$c_out" "$root/clients/c/generated" || status=1
  if [ $status = 1 ]; then echo "generated code is stale: run scripts/generate-protos.sh" >&2; exit 1; fi
  echo "generated code is up to date"
fi
