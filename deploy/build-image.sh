#!/usr/bin/env bash
# Assembles the Switchboard sidecar image with buildah, without pulling anything:
# FROM scratch plus
#   - the binaries and the catalog resource bundle (/opt/switchboard/bin), from
#     deploy/build-release.sh (default) or from a build directory (--binaries);
#   - exactly the shared libraries they need (ldd), the dynamic loader included,
#     at their canonical paths in a merged-/usr layout;
#   - CA certificates (/etc/ssl/certs/ca-certificates.crt, TLS to the providers);
#   - /etc/passwd and /etc/group with the user and group 10001 (switchboard);
#   - the socket and state directories (volumes) owned by 10001, mode 0750;
#   - the default config deploy/docker/switchboard.yaml;
#   - /usr/bin/dash as /bin/sh and /usr/bin/sleep, which the Dockerfile's Debian base
#     has too: `podman kube play` runs exec probes through /bin/sh (CMD-SHELL), and
#     the plain-container pod variant's preStop hook runs `sleep`;
# and the same entrypoint, user, volumes, environment, labels, stop signal and
# HEALTHCHECK as the Dockerfile's runtime stage. The Dockerfile stays the way to
# build where the base images can be pulled; deploy/tests/test_deploy.py checks
# that the two put the same things into the image (--print-config below), and
# deploy/container/test_container.py checks the built image itself.
#
# Usage: deploy/build-image.sh [--tag NAME] [--binaries DIR] [--print-config]
#   --tag NAME       image name (default localhost/switchboard:dev)
#   --binaries DIR   take switchboardd, switchboard and the resource bundle from DIR
#                    (e.g. .build/debug or the bin/ of a build-release.sh DEST)
#                    instead of running deploy/build-release.sh. Debug binaries link
#                    the Swift runtime dynamically; its libraries are copied too.
#   --print-config   print the image configuration and file list (one item a line)
#                    and exit without building.
# Needs buildah and root (or run it under `buildah unshare`). The image is committed
# in docker format: the OCI image format has no HEALTHCHECK.
set -euo pipefail

# ------------------------------------------------- what goes into the image
# The Dockerfile's runtime stage, instruction for instruction. Change both together.
PREFIX=/opt/switchboard
BUNDLE=Switchboard_SwitchboardProviders.resources
CONFIG=/etc/switchboard/switchboard.yaml
SOCKET=/run/switchboard/switchboard.sock
APP_UID=10001
# debian:bookworm-slim's PATH, which the Dockerfile's ENV extends.
BASE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT="[\"$PREFIX/bin/switchboardd\", \"--config\", \"$CONFIG\"]"
HEALTH_ARGV=("$PREFIX/bin/switchboard" health --socket "$SOCKET")
HEALTH_CMD="[\"${HEALTH_ARGV[0]}\", \"${HEALTH_ARGV[1]}\", \"${HEALTH_ARGV[2]}\", \"${HEALTH_ARGV[3]}\"]"
HEALTH_INTERVAL=10s
HEALTH_TIMEOUT=3s
HEALTH_START_PERIOD=10s
HEALTH_RETRIES=3
ENV_PATH="$PREFIX/bin:$BASE_PATH"
VOLUMES=(/run/switchboard /var/lib/switchboard)
USER_SPEC="$APP_UID:$APP_UID"
STOP_SIGNAL=SIGTERM
LABELS=(
  "org.opencontainers.image.title=switchboard"
  "org.opencontainers.image.description=Switchboard sidecar: routes LLM completions across providers behind a Unix socket"
  "io.switchboard.socket=$SOCKET"
  "io.switchboard.uid=$APP_UID"
)
# Directories the image creates: path mode owner.
DIRS=(
  "/run/switchboard 0750 $APP_UID:$APP_UID"
  "/var/lib/switchboard 0750 $APP_UID:$APP_UID"
  "/etc/switchboard 0755 0:0"
  "/tmp 1777 0:0"
)
PASSWD_LINE="switchboard:x:$APP_UID:$APP_UID::/nonexistent:/usr/sbin/nologin"
GROUP_LINE="switchboard:x:$APP_UID:"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
EXTRA_PROGRAMS=(/usr/bin/sleep /usr/bin/dash)
SYMLINKS=("/usr/bin/sh dash")   # path target

print_config() {
  echo "entrypoint=$ENTRYPOINT"
  echo "healthcheck=--interval=$HEALTH_INTERVAL --timeout=$HEALTH_TIMEOUT --start-period=$HEALTH_START_PERIOD --retries=$HEALTH_RETRIES CMD $HEALTH_CMD"
  echo "env=PATH=$ENV_PATH"
  for v in "${VOLUMES[@]}"; do echo "volume=$v"; done
  echo "user=$USER_SPEC"
  echo "stopsignal=$STOP_SIGNAL"
  for l in "${LABELS[@]}"; do echo "label=$l"; done
  for d in "${DIRS[@]}"; do echo "dir=$d"; done
  echo "passwd=$PASSWD_LINE"
  echo "group=$GROUP_LINE"
  echo "file=$PREFIX/bin/switchboardd"
  echo "file=$PREFIX/bin/switchboard"
  echo "file=$PREFIX/bin/$BUNDLE/catalog.json"
  echo "file=$CONFIG deploy/docker/switchboard.yaml"
  echo "file=$CA_BUNDLE"
  for p in "${EXTRA_PROGRAMS[@]}"; do echo "file=$p"; done
  for l in "${SYMLINKS[@]}"; do echo "symlink=$l"; done
}

usage() { echo "usage: $0 [--tag NAME] [--binaries DIR] [--print-config]" >&2; exit 2; }

TAG=localhost/switchboard:dev
BINARIES=""
while [ $# -gt 0 ]; do
  case "$1" in
    --print-config) print_config; exit 0 ;;
    --tag) if [ $# -lt 2 ] || [ -z "$2" ]; then usage; fi; TAG=$2; shift 2 ;;
    --binaries)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage; fi
      BINARIES=$(cd "$2" && pwd) || { echo "no such directory: $2" >&2; exit 2; }
      shift 2 ;;
    *) usage ;;
  esac
done

command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
  echo "needs root (mounting the image's file system): run it as root or under 'buildah unshare'" >&2
  exit 1
fi

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT_DIR"
export BUILDAH_FORMAT=docker   # HEALTHCHECK exists only in the docker image format

work=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-image.XXXXXX")
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$BINARIES" ]; then
  echo "+ deploy/build-release.sh $work/release" >&2
  deploy/build-release.sh "$work/release"
  BINARIES="$work/release/bin"
fi
for f in switchboardd switchboard "$BUNDLE/catalog.json"; do
  [ -e "$BINARIES/$f" ] || { echo "$BINARIES/$f is missing" >&2; exit 1; }
done

# ---------------------------------------------------------- the root file system
ctr=$(buildah from --quiet scratch)
rootfs=$(buildah mount "$ctr")

# Merged /usr, as in Debian: /lib -> usr/lib, /lib64 -> usr/lib64, /bin, /sbin.
mkdir -p "$rootfs/usr/lib" "$rootfs/usr/bin" "$rootfs/usr/sbin"
for d in lib lib64 bin sbin; do
  if [ -L "/$d" ]; then
    ln -s "$(readlink "/$d")" "$rootfs/$d"
    mkdir -p "$rootfs/usr/$d"
  fi
done

# Copy a library (or the loader) to the canonical directory of the path ldd names,
# under the name ldd names (the soname), with the contents of the file it resolves to.
copy_library() {
  local path=$1 dir
  dir=$(readlink -f "$(dirname "$path")")
  mkdir -p "$rootfs$dir"
  if [ ! -e "$rootfs$dir/$(basename "$path")" ]; then
    cp -L "$path" "$rootfs$dir/$(basename "$path")"
  fi
}

programs=("$BINARIES/switchboardd" "$BINARIES/switchboard" "${EXTRA_PROGRAMS[@]}")
libs=$(ldd "${programs[@]}")
if echo "$libs" | grep -q 'not found'; then
  echo "$libs" >&2
  echo "a shared library is missing on this machine" >&2
  exit 1
fi
# Lines are "name => /path (addr)", "/path (addr)" (the loader) or "linux-vdso... (addr)".
mapfile -t lib_paths < <(echo "$libs" | sed -nE 's@^\s+(\S+ => )?(/\S+) \(0x[0-9a-f]+\)$@\2@p' | sort -u)
for path in "${lib_paths[@]}"; do copy_library "$path"; done

install -d -m 0755 "$rootfs$PREFIX/bin"
install -m 0755 "$BINARIES/switchboardd" "$BINARIES/switchboard" "$rootfs$PREFIX/bin/"
cp -R "$BINARIES/$BUNDLE" "$rootfs$PREFIX/bin/"
chmod -R u=rwX,go=rX "$rootfs$PREFIX/bin/$BUNDLE"
for p in "${EXTRA_PROGRAMS[@]}"; do install -D -m 0755 "$p" "$rootfs$(readlink -f "$(dirname "$p")")/$(basename "$p")"; done
for l in "${SYMLINKS[@]}"; do
  read -r path target <<<"$l"
  ln -sfn "$target" "$rootfs$path"
done

for d in "${DIRS[@]}"; do
  read -r path mode owner <<<"$d"
  install -d -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$rootfs$path"
done
install -D -m 0644 "$CA_BUNDLE" "$rootfs$CA_BUNDLE"
install -m 0644 deploy/docker/switchboard.yaml "$rootfs$CONFIG"

printf '%s\n' "root:x:0:0:root:/root:/usr/sbin/nologin" \
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" "$PASSWD_LINE" > "$rootfs/etc/passwd"
printf '%s\n' "root:x:0:" "nogroup:x:65534:" "$GROUP_LINE" > "$rootfs/etc/group"
printf '%s\n' "passwd: files" "group: files" "hosts: files dns" > "$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"

buildah umount "$ctr" >/dev/null

# ------------------------------------------------------------ the image config
config_args=(
  --entrypoint "$ENTRYPOINT" --cmd ""
  --env "PATH=$ENV_PATH"
  --user "$USER_SPEC"
  --stop-signal "$STOP_SIGNAL"
  --healthcheck "CMD ${HEALTH_ARGV[*]}"   # buildah splits the words itself; none has spaces
  --healthcheck-interval "$HEALTH_INTERVAL" --healthcheck-timeout "$HEALTH_TIMEOUT"
  --healthcheck-start-period "$HEALTH_START_PERIOD" --healthcheck-retries "$HEALTH_RETRIES"
)
for v in "${VOLUMES[@]}"; do config_args+=(--volume "$v"); done
for l in "${LABELS[@]}"; do config_args+=(--label "$l"); done
buildah config "${config_args[@]}" "$ctr"

buildah commit --quiet --format docker --identity-label=false --rm "$ctr" "$TAG" >/dev/null
ctr=""
size=$(buildah images --format '{{.Size}}' "$TAG" | head -1)
echo "built $TAG ($size) from $BINARIES" >&2
echo "shared libraries in the image:" >&2
printf '  %s\n' "${lib_paths[@]}" >&2
