# syntax=docker/dockerfile:1
#
# Switchboard sidecar image: switchboardd (daemon) + switchboard (CLI, used by the
# HEALTHCHECK and by operators via `docker exec`).
#
#   docker build -t switchboard:dev .
#   docker volume create switchboard-sock
#   docker run -d --name switchboard \
#     -v switchboard-sock:/run/switchboard \
#     -v "$PWD/switchboard.yaml:/etc/switchboard/switchboard.yaml:ro" \
#     -v switchboard-state:/var/lib/switchboard \
#     --env-file keys.env --read-only --tmpfs /tmp --stop-timeout 30 \
#     switchboard:dev
#   # the app container mounts the same volume and runs as uid 10001 (or is listed
#   # in listen.allowed_uids):
#   docker run --user 10001:10001 -v switchboard-sock:/run/switchboard your-app
#
# The build commands in the `build` stage are the ones deploy/build-release.sh runs
# (deploy/tests/test_deploy.py checks they stay identical), so the build can be
# reproduced without a container engine.
# See docs/operations.md for running, upgrading and key rotation.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------- build
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# GRDB links the system SQLite (libsqlite3-dev); swift-nio-extras' compression
# links zlib (zlib1g-dev). Everything else (BoringSSL, Foundation, the Swift
# runtime) is compiled in or linked statically.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Resolve dependencies in their own layer so source edits do not refetch them.
# Package.resolved is optional (the glob matches nothing when it is absent).
COPY Package.swift Package.resolved* ./
RUN swift package resolve

COPY Sources ./Sources

# --static-swift-stdlib: the Swift runtime and Foundation are linked in, so the
# runtime image needs only glibc, libstdc++, zlib and libsqlite3.
RUN swift build -c release --static-swift-stdlib --product switchboardd \
 && swift build -c release --static-swift-stdlib --product switchboard

# Stage the runtime tree. The SwiftPM resource bundle (model catalog) must sit
# next to the executables: Bundle.module looks for it in the executable's directory.
# Binaries are left unstripped so crash backtraces keep symbol names. The last line
# fails the build if any Swift runtime library is still linked dynamically.
RUN bin="$(swift build -c release --static-swift-stdlib --show-bin-path)" \
 && mkdir -p /staging/bin \
 && install -m 0755 "$bin/switchboardd" "$bin/switchboard" /staging/bin/ \
 && cp -R "$bin/Switchboard_SwitchboardProviders.resources" /staging/bin/ \
 && test -f /staging/bin/Switchboard_SwitchboardProviders.resources/catalog.json \
 && ! ldd /staging/bin/switchboardd /staging/bin/switchboard | grep -E 'libswift|libFoundation|libdispatch|not found'

# -------------------------------------------------------------------------- runtime
FROM ${RUNTIME_IMAGE} AS runtime

# deploy/build-image.sh assembles the same image FROM scratch where no base image can
# be pulled; deploy/tests/test_deploy.py keeps the two equivalent (config, user,
# directories, files, and the libraries the binaries need against the packages here).
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="Switchboard sidecar: routes LLM completions across providers behind a Unix socket" \
      io.switchboard.socket="/run/switchboard/switchboard.sock" \
      io.switchboard.uid="10001"

# ca-certificates: TLS to the providers. libsqlite3-0: GRDB's SQLite (audit store).
# libstdc++6 and zlib1g are already in the slim image; listed so that stays true.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libsqlite3-0 libstdc++6 zlib1g \
 && rm -rf /var/lib/apt/lists/*

# Non-root user. Client containers that share the socket volume run with the same
# uid (or are listed in listen.allowed_uids / allowed_gids).
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin switchboard \
 && mkdir -p /run/switchboard /var/lib/switchboard /etc/switchboard \
 && chown 10001:10001 /run/switchboard /var/lib/switchboard \
 && chmod 0750 /run/switchboard /var/lib/switchboard

COPY --from=build /staging/ /opt/switchboard/
# A self-contained default (simulated providers, no keys) so the image starts as-is;
# mount your own file over it (a ConfigMap in Kubernetes).
COPY deploy/docker/switchboard.yaml /etc/switchboard/switchboard.yaml

ENV PATH=/opt/switchboard/bin:$PATH

# /run/switchboard holds the socket and is shared with the app container.
# /var/lib/switchboard holds the SQLite audit DB and spend ledger (WAL mode).
VOLUME ["/run/switchboard", "/var/lib/switchboard"]

USER 10001:10001

# Exit 0 only while the daemon is serving on its socket.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/opt/switchboard/bin/switchboard", "health", "--socket", "/run/switchboard/switchboard.sock"]

# SIGTERM drains (finish in-flight calls up to listen.drain_grace_ms, flush the audit
# store, remove the socket): give `docker stop` more than the drain grace.
STOPSIGNAL SIGTERM

ENTRYPOINT ["/opt/switchboard/bin/switchboardd", "--config", "/etc/switchboard/switchboard.yaml"]
