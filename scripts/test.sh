#!/usr/bin/env bash
# The whole test suite: Swift tests, generated-code freshness, every client's
# tests against the real daemon, deployment manifests. Installs the system and
# Python packages the tests need when they are missing (apt-get as root; pip).
set -uo pipefail
cd "$(dirname "$0")/.."

need=()
command -v protoc   >/dev/null || need+=(protobuf-compiler)
command -v protoc-c >/dev/null || need+=(protobuf-c-compiler)
[ -e /usr/include/protobuf-c/protobuf-c.h ] || need+=(libprotobuf-c-dev)
command -v socat    >/dev/null || need+=(socat)
[ -e /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v cc       >/dev/null || need+=(gcc make)
command -v c++      >/dev/null || need+=(g++)
command -v go       >/dev/null || need+=(golang-go)
command -v protoc-gen-go >/dev/null || need+=(protoc-gen-go)
[ -d /usr/share/gocode/src/google.golang.org/protobuf ] || need+=(golang-google-protobuf-dev)
# The container tests (deploy/container): build and run the image without a registry.
for tool in podman buildah runc; do command -v "$tool" >/dev/null || need+=("$tool"); done
# The fleet tests (shared_state on PostgreSQL) start throwaway servers with initdb/pg_ctl;
# where none can run they are skipped with the reason printed, never passed.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import google.protobuf, pytest, yaml, build, setuptools, wheel' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'protobuf>=4.21' pytest pyyaml build setuptools wheel
# The decision JSON shape is validated against docs/decision-event.schema.json (DecisionShapeTests).
python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check jsonschema
# The OpenAI-compatible endpoint is tested with the real openai SDK (langchain-openai if it installs).
# The metrics surface test parses a real scrape with the reference parser.
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check prometheus_client
python3 -c 'import openai' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check openai
python3 -c 'import langchain_openai' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check langchain-openai || echo "note: langchain-openai did not install; its test is skipped"

failed=()
step() { printf '\n=== %s ===\n' "$1"; }

step "swift build"
swift build --build-tests || { echo "build failed"; exit 1; }

step "swift test"
swift test --skip-build --parallel --num-workers 2 || failed+=("swift-test")

step "generated protobuf code is up to date"
scripts/generate-protos.sh --check || failed+=("generated-code")

step "clients (python, shell, c, go) against the real daemon"
SWITCHBOARDD="$PWD/.build/debug/switchboardd" clients/run-tests.sh || failed+=("clients")

step "chaos drills from the CLI"
.build/debug/switchboard simulate --all > /tmp/switchboard-drills.log 2>&1 || { cat /tmp/switchboard-drills.log; failed+=("drills"); }
grep -E "^(PASS|FAIL)|passed|failed" /tmp/switchboard-drills.log | head -20

step "demo"
.build/debug/switchboard demo > /tmp/switchboard-demo.log 2>&1 || { cat /tmp/switchboard-demo.log; failed+=("demo"); }

step "benchmark harness smoke test (bench/)"
SWITCHBOARDD="$PWD/.build/debug/switchboardd" bench/selftest.sh || failed+=("bench")

step "deployment files, metrics surface (docs table, dashboard, alerts vs a real scrape)"
SWITCHBOARDD="$PWD/.build/debug/switchboardd" python3 -m pytest -q deploy/tests || failed+=("deploy")

step "container image and pod (buildah, podman; skipped with the reason where no engine runs)"
# From the debug build above, not a second (release) build: see docs/operations.md,
# "Running the image locally". -rs prints each skip's reason.
SWITCHBOARD_IMAGE_BINARIES="$PWD/.build/debug" python3 -m pytest -q -rs -s deploy/container || failed+=("container")

if [ ${#failed[@]} -gt 0 ]; then echo; echo "FAILED: ${failed[*]}"; exit 1; fi
echo; echo "all tests passed"
