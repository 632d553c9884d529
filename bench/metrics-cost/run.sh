#!/usr/bin/env bash
# Cost of recording one request's metrics: Switchboard's registry (its real source
# files, copied in) against swift-metrics 2.13.0 + swift-prometheus 2.4.1 doing the
# same updates. Release build in a scratch directory; prints ns per request.
#   bench/metrics-cost/run.sh [ITERATIONS]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${METRICS_COST_DIR:-/tmp/switchboard-metrics-cost}
mkdir -p "$WORK/Sources/MetricsCost"
cp "$HERE/Package.swift.in" "$WORK/Package.swift"
sed -i -e "s|@REPO@|$REPO|" -e "s|@PKG@|$(basename "$REPO" | tr A-Z a-z)|" "$WORK/Package.swift"
cp "$HERE/main.swift.in" "$WORK/Sources/MetricsCost/main.swift"
OBS="$REPO/Sources/SwitchboardDaemon/Observability"
# The registry's own files; the config-reading initializer and the wire module's
# version constant are the only lines that need the rest of the daemon.
sed -e '/import SwitchboardWire/d' -e 's/SwitchboardVersion.current/"bench"/' \
    -e '/\/\/\/ Everything a configuration names./,/^    }$/d' \
    "$OBS/Metrics.swift" > "$WORK/Sources/MetricsCost/Metrics.swift"
for f in SwitchboardMetrics+Exposition.swift ProcessStatistics.swift Internal/MetricsState.swift Internal/PrometheusText.swift; do
  cp "$OBS/$f" "$WORK/Sources/MetricsCost/$(basename "$f")"
done
cd "$WORK"
swift build -c release -j "${JOBS:-1}" >/dev/null
exec .build/release/MetricsCost "${1:-200000}"
