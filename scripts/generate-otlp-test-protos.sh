#!/usr/bin/env bash
# Regenerates the OTLP protobuf types the tracing tests decode exports with
# (Tests/SwitchboardDaemonTests/OTLP/Generated/): the OpenTelemetry trace
# collector protos, taken as descriptors from the `opentelemetry-proto` PyPI
# package (it ships the compiled descriptors, not the .proto files), compiled by
# protoc with protoc-gen-swift. The generated code is committed; the tests need
# neither Python nor PyPI. Needs: protoc, python3 with pip.
# Usage: scripts/generate-otlp-test-protos.sh [OTLP_PROTO_VERSION]   (default 1.45.2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version="${1:-1.45.2}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --target "$work/py" "opentelemetry-proto==$version"
PYTHONPATH="$work/py" python3 - "$work/otlp.pb" <<'PY'
import sys
from google.protobuf import descriptor_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
fds, seen = descriptor_pb2.FileDescriptorSet(), set()
def add(fd):
    if fd.name in seen: return
    for d in fd.dependencies: add(d)
    seen.add(fd.name)
    p = descriptor_pb2.FileDescriptorProto(); fd.CopyToProto(p); fds.file.append(p)
add(trace_service_pb2.DESCRIPTOR)
open(sys.argv[1], "wb").write(fds.SerializeToString())
PY
plugin="${PROTOC_GEN_SWIFT:-$root/.build/debug/protoc-gen-swift}"
if [ ! -x "$plugin" ]; then swift build --product protoc-gen-swift >&2; fi
out="$root/Tests/SwitchboardDaemonTests/OTLP/Generated"
mkdir -p "$out"
protoc --descriptor_set_in="$work/otlp.pb" --plugin=protoc-gen-swift="$plugin" --swift_out="$out" --swift_opt=FileNaming=DropPath \
  opentelemetry/proto/common/v1/common.proto opentelemetry/proto/resource/v1/resource.proto \
  opentelemetry/proto/trace/v1/trace.proto opentelemetry/proto/collector/trace/v1/trace_service.proto
echo "generated into $out"
