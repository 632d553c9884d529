#!/usr/bin/env bash
# Builds the app-side image for the container tests: FROM scratch with two static
# binaries linked against clients/c and libprotobuf-c (no shell, no libc files):
#   /example    clients/c/example.c unchanged (unary, stream, health)
#   /sb-probe   deploy/container/probe.c (one outcome per line; `app` mode for the pod)
# Entrypoint `/sb-probe app`, user 10001:10001, SWITCHBOARD_SOCKET set.
# Usage: deploy/container/build-app-image.sh TAG    (needs cc, libprotobuf-c-dev, buildah, root)
set -euo pipefail
if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 TAG" >&2; exit 2; fi
tag=$1
cd "$(dirname "$0")/../.."
work=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-app-image.XXXXXX")
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

client=(clients/c/switchboard_client.c clients/c/generated/switchboard/v1/switchboard.pb-c.c)
flags=(-O2 -std=c11 -Wall -Wextra -Werror -static -Iclients/c -Iclients/c/generated)
cc "${flags[@]}" deploy/container/probe.c "${client[@]}" -lprotobuf-c -lm -o "$work/sb-probe"
cc "${flags[@]}" clients/c/example.c "${client[@]}" -lprotobuf-c -lm -o "$work/example"
# Static: nothing but the binaries goes into the image.
if ldd "$work/sb-probe" >/dev/null 2>&1; then echo "sb-probe is not static" >&2; exit 1; fi

export BUILDAH_FORMAT=docker
ctr=$(buildah from --quiet scratch)
buildah copy --quiet --chmod 0755 "$ctr" "$work/sb-probe" "$work/example" / >/dev/null
buildah config --entrypoint '["/sb-probe", "app"]' --cmd "" --user 10001:10001 \
  --env SWITCHBOARD_SOCKET=/run/switchboard/switchboard.sock "$ctr"
buildah commit --quiet --format docker --identity-label=false --rm "$ctr" "$tag" >/dev/null
ctr=""
echo "built $tag ($(buildah images --format '{{.Size}}' "$tag" | head -1))" >&2
