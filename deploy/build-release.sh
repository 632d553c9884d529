#!/usr/bin/env bash
# Builds the release binaries exactly as the Dockerfile's `build` stage does and
# stages the runtime tree into DEST, without a container engine:
#
#   DEST/bin/switchboardd
#   DEST/bin/switchboard
#   DEST/bin/Switchboard_SwitchboardProviders.resources/catalog.json
#
# Install DEST as /opt/switchboard (the path deploy/systemd/switchboard.service and
# the image use). Needs a Swift 6.3 toolchain plus libsqlite3-dev and zlib1g-dev.
# At runtime the binaries need only glibc, libstdc++6, zlib1g, libsqlite3-0 and
# ca-certificates: the Swift runtime and Foundation are linked statically.
#
# Usage: deploy/build-release.sh [--print-commands] DEST
#   --print-commands  print the build commands (one per line) and exit without
#                     building; deploy/tests/test_deploy.py compares them with the
#                     Dockerfile's RUN lines so the two never drift apart.
set -euo pipefail

# The commands below are the Dockerfile's, word for word. Change both together.
BUILD_COMMANDS=(
  "swift package resolve"
  "swift build -c release --static-swift-stdlib --product switchboardd"
  "swift build -c release --static-swift-stdlib --product switchboard"
)
BIN_PATH_COMMAND="swift build -c release --static-swift-stdlib --show-bin-path"
BUNDLE=Switchboard_SwitchboardProviders.resources

if [ "${1:-}" = "--print-commands" ]; then
  printf '%s\n' "${BUILD_COMMANDS[@]}" "$BIN_PATH_COMMAND"
  exit 0
fi

if [ $# -ne 1 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
  echo "usage: $0 [--print-commands] DEST" >&2
  exit 2
fi
mkdir -p "$1"
dest=$(cd "$1" && pwd)

cd "$(dirname "$0")/.."

for cmd in "${BUILD_COMMANDS[@]}"; do
  echo "+ $cmd" >&2
  $cmd   # word splitting intended: the commands hold no quoted arguments
done
bin=$($BIN_PATH_COMMAND)

# Stage exactly what the Dockerfile copies into /opt/switchboard.
mkdir -p "$dest/bin"
install -m 0755 "$bin/switchboardd" "$bin/switchboard" "$dest/bin/"
rm -rf "${dest:?}/bin/$BUNDLE"
cp -R "$bin/$BUNDLE" "$dest/bin/"
test -f "$dest/bin/$BUNDLE/catalog.json" || { echo "resource bundle is missing catalog.json" >&2; exit 1; }

# Same check as the Dockerfile: no Swift runtime library may be linked dynamically.
if ldd "$dest/bin/switchboardd" "$dest/bin/switchboard" | grep -E 'libswift|libFoundation|libdispatch|not found'; then
  echo "the binaries still need Swift runtime libraries (is --static-swift-stdlib honoured?)" >&2
  exit 1
fi

echo "staged into $dest:" >&2
ls -l "$dest/bin" >&2
echo "shared libraries needed at runtime:" >&2
ldd "$dest/bin/switchboardd" >&2
