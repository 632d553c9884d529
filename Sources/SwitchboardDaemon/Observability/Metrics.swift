import Foundation
import Synchronization
import SwitchboardCore

/// The daemon's Prometheus registry: a small, fixed set of families, counted exactly.
///
/// Counters and histograms live behind one `Mutex` taken once per `record` call;
/// circuit and budget gauges are not stored here but read from their owners'
/// snapshots at scrape time (`render`), so they can never drift from the truth.
/// Label values are kept as typed keys on the hot path and only turned into text
/// when rendering.
///
/// Families (label names are fixed):
/// - `switchboard_requests_total{route,outcome}` (counter)
/// - `switchboard_attempts_total{provider,model,outcome,failure_class,reason}` (counter)
/// - `switchboard_circuit_state{provider,model,key}` (gauge: 0 closed, 1 half-open, 2 open)
/// - `switchboard_budget_spent_usd{scope,window}` (gauge)
/// - `switchboard_budget_remaining_usd{scope,window}` (gauge, only scopes with a hard cap)
/// - `switchboard_budget_soft_exceeded_total{scope}` (counter)
/// - `switchboard_budget_overage_total{scope}` (counter: settles above their reservation)
/// - `switchboard_budget_overage_usd_total{scope}` (counter: by how much, USD)
/// - `switchboard_upstream_latency_seconds{provider,model}` (histogram)
/// - `switchboard_overhead_seconds` (histogram)
/// - `switchboard_in_flight` (gauge)
/// - `switchboard_frames_rejected_total{reason}` (counter)
/// - `switchboard_audit_write_failures_total` (counter)
/// - `switchboard_config_reloads_total{result}` (counter: applied, rejected)
///
/// Label values are bounded: a provider or model the config does not know (a
/// client can name any in a request) is counted as `_other`, as is a soft-budget
/// scope beyond the first `maxScopeLabels`.
public final class SwitchboardMetrics: Sendable {
  /// What the config names: the only provider and model label values used.
  public struct LabelDomain: Sendable {
    /// Configured providers.
    public var providers: Set<String> = []
    /// Configured provider/model pairs (catalog overrides and route candidates).
    public var candidates: Set<CandidateRef> = []
    /// Creates a domain.
    public init(providers: Set<String> = [], candidates: Set<CandidateRef> = []) {
      self.providers = providers; self.candidates = candidates
    }
    /// Everything a configuration names.
    public init(_ c: DaemonConfiguration) {
      providers = Set(c.providers.keys)
      candidates = Set(c.models.keys).union(c.routes.values.flatMap { $0.candidates.map(\.ref) })
    }
  }
  /// The label value of everything outside the domain.
  public static let otherLabel = "_other"
  /// Distinct budget scopes counted by name before the rest fold into `_other`.
  public static let maxScopeLabels = 256
  private let domain = Mutex<LabelDomain?>(nil)
  /// Upper bounds of `switchboard_upstream_latency_seconds`, in seconds.
  public static let upstreamLatencyBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
  /// Upper bounds of `switchboard_overhead_seconds`, in seconds.
  public static let overheadBuckets: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]
  /// The prefix of a decision event's warning that reports a soft budget crossed; the scope follows it.
  public static let softBudgetWarningPrefix = "soft_budget_exceeded:"
  /// The `route` label of requests that named a route the config does not have. The
  /// requested name is client-chosen, so it is not used as a label (unbounded cardinality).
  public static let unknownRouteLabel = "_unknown"

  private let state: Mutex<MetricsState>
  private let inFlight = Atomic<Int>(0)
  private let auditWriteFailures = Atomic<UInt64>(0)

  /// Creates an empty registry.
  public init() {
    state = Mutex(MetricsState(upstreamBucketCount: Self.upstreamLatencyBuckets.count,
                               overheadBucketCount: Self.overheadBuckets.count))
  }

  /// Counts one finished request: its outcome, every attempt (skipped ones with
  /// `outcome="skipped"`), the upstream latency of every attempt that was sent,
  /// soft budget crossings reported in `event.warnings`, and the sidecar's own time.
  ///
  /// - Parameters:
  ///   - event: The request's decision event.
  ///   - overhead: Time the sidecar itself spent on the request (excluding upstream time).
  public func record(_ event: DecisionEvent, overhead: Duration) {
    let route = event.reason == .unknownRoute ? Self.unknownRouteLabel : event.route
    let domain = self.domain.withLock { $0 }
    func labels(_ provider: String, _ model: String) -> (String, String) {
      guard let domain else { return (provider, model) }
      guard domain.providers.contains(provider) else { return (Self.otherLabel, Self.otherLabel) }
      return (provider, domain.candidates.contains(CandidateRef(provider: provider, model: model)) ? model : Self.otherLabel)
    }
    let requestKey = RequestSeries(route: route, outcome: event.outcome)
    let overheadSeconds = overhead.secondsDouble
    let upstreamBounds = Self.upstreamLatencyBuckets
    let overheadBounds = Self.overheadBuckets
    state.withLock { s in
      s.requests[requestKey, default: 0] += 1
      for a in event.attempts {
        let (provider, model) = labels(a.provider, a.model)
        let cancelled = a.reason == .cancelled
        let key = AttemptSeries(provider: provider, model: model, outcome: a.outcome,
                                failureClass: cancelled ? nil : a.failureClass, reason: a.reason, cancelled: cancelled)
        s.attempts[key, default: 0] += 1
        if a.outcome != .skipped {
          s.upstreamLatency[CandidateSeries(provider: provider, model: model),
                            default: HistogramState(bucketCount: upstreamBounds.count)]
            .observe(max(0, a.latencyMs) / 1000, bounds: upstreamBounds)
        }
      }
      for w in event.warnings where w.hasPrefix(Self.softBudgetWarningPrefix) {
        var scope = String(w.dropFirst(Self.softBudgetWarningPrefix.count))
        if s.softExceeded[scope] == nil && s.softExceeded.count >= Self.maxScopeLabels { scope = Self.otherLabel }
        s.softExceeded[scope, default: 0] += 1
      }
      for a in event.attempts {
        guard let o = a.overageMicroUSD, o > 0 else { continue }
        for scope in a.chargedScopes ?? [] {
          let prev = s.overages[scope] ?? (0, 0)
          s.overages[scope] = (prev.count + 1, prev.micro &+ o)
        }
      }
      s.overhead.observe(max(0, overheadSeconds), bounds: overheadBounds)
    }
  }

  /// Sets the label domain (at start and on every reload).
  public func setLabelDomain(_ d: LabelDomain) { domain.withLock { $0 = d } }

  /// Counts a reload attempt.
  public func reloaded(applied: Bool) { state.withLock { $0.reloads[applied, default: 0] += 1 } }

  /// Sets `switchboard_in_flight`, the number of requests being served now.
  public func setInFlight(_ count: Int) {
    inFlight.store(count, ordering: .relaxed)
  }

  /// Counts a frame the socket server refused (`reason` is a short, fixed code such as `too_large`).
  public func frameRejected(reason: String) {
    state.withLock { $0.framesRejected[reason, default: 0] += 1 }
  }

  /// Sets the audit failure counter from the store's own count (read at scrape time).
  public func setAuditWriteFailures(_ n: UInt64) {
    auditWriteFailures.store(n, ordering: .relaxed)
  }

  /// Counts a decision event the audit store failed to write.
  public func auditWriteFailed() {
    auditWriteFailures.add(1, ordering: .relaxed)
  }

  /// Renders every family in the Prometheus text exposition format 0.0.4.
  ///
  /// - Parameters:
  ///   - circuits: The health board's snapshot, for `switchboard_circuit_state`.
  ///   - budgets: The budget ledger's snapshot, for the budget gauges. Remaining is
  ///     `max(0, hard - spent - reserved)`: what a new reservation could still take.
  public func render(circuits: [CircuitSnapshot], budgets: [BudgetSnapshot]) -> String {
    let s = state.withLock { $0 }
    var out = ""
    out.reserveCapacity(4096 + 160 * (s.requests.count + s.attempts.count + 12 * s.upstreamLatency.count))

    PrometheusText.header(&out, name: "switchboard_requests_total", type: "counter",
                          help: "Requests finished, by route and outcome (success, failed, cancelled).")
    for (k, v) in s.requests.sorted(by: { ($0.key.route, $0.key.outcome.rawValue) < ($1.key.route, $1.key.outcome.rawValue) }) {
      PrometheusText.sample(&out, name: "switchboard_requests_total",
                            labels: ["route": k.route, "outcome": k.outcome.rawValue], value: String(v))
    }

    PrometheusText.header(&out, name: "switchboard_attempts_total", type: "counter",
                          help: "Upstream attempts, by candidate, outcome (success, failed, skipped, cancelled), failure class and reason.")
    let attempts = s.attempts.map { (k, v) in
      ([k.provider, k.model, k.cancelled ? "cancelled" : k.outcome.rawValue, k.failureClass?.rawValue ?? "", k.reason?.rawValue ?? ""], v)
    }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
    for (l, v) in attempts {
      PrometheusText.sample(&out, name: "switchboard_attempts_total",
                            labels: ["provider": l[0], "model": l[1], "outcome": l[2], "failure_class": l[3], "reason": l[4]],
                            value: String(v))
    }

    PrometheusText.header(&out, name: "switchboard_circuit_state", type: "gauge",
                          help: "Circuit breaker state per provider, model and key fingerprint: 0 closed, 1 half-open, 2 open.")
    for c in circuits.sorted(by: { $0.key.description < $1.key.description }) {
      let value: String
      switch c.state {
      case "open": value = "2"
      case "half_open": value = "1"
      default: value = "0"
      }
      PrometheusText.sample(&out, name: "switchboard_circuit_state",
                            labels: ["provider": c.key.provider, "model": c.key.model, "key": c.key.keyFingerprint],
                            value: value)
    }

    let sortedBudgets = budgets.sorted { ($0.scope, $0.window) < ($1.scope, $1.window) }
    PrometheusText.header(&out, name: "switchboard_budget_spent_usd", type: "gauge",
                          help: "USD spent in the current budget window, by scope.")
    for b in sortedBudgets {
      PrometheusText.sample(&out, name: "switchboard_budget_spent_usd", labels: ["scope": b.scope, "window": b.window],
                            value: PrometheusText.format(b.spent.usd))
    }
    PrometheusText.header(&out, name: "switchboard_budget_remaining_usd", type: "gauge",
                          help: "USD left under the hard cap in the current window (spend and open reservations deducted), by scope.")
    for b in sortedBudgets {
      guard let hard = b.limit.hard else { continue }
      PrometheusText.sample(&out, name: "switchboard_budget_remaining_usd", labels: ["scope": b.scope, "window": b.window],
                            value: PrometheusText.format(max(.zero, hard - b.spent - b.reserved).usd))
    }
    PrometheusText.header(&out, name: "switchboard_budget_soft_exceeded_total", type: "counter",
                          help: "Requests that pushed a budget scope over its soft cap.")
    for (scope, v) in s.softExceeded.sorted(by: { $0.key < $1.key }) {
      PrometheusText.sample(&out, name: "switchboard_budget_soft_exceeded_total", labels: ["scope": scope], value: String(v))
    }
    PrometheusText.header(&out, name: "switchboard_budget_overage_total", type: "counter",
                          help: "Settles that charged more than their reservation (the provider reported more than the worst case), by scope@window.")
    let overages = s.overages.sorted { $0.key < $1.key }
    for (scope, v) in overages {
      PrometheusText.sample(&out, name: "switchboard_budget_overage_total", labels: ["scope": scope], value: String(v.count))
    }
    PrometheusText.header(&out, name: "switchboard_budget_overage_usd_total", type: "counter",
                          help: "USD charged above the reservations, by scope@window.")
    for (scope, v) in overages {
      PrometheusText.sample(&out, name: "switchboard_budget_overage_usd_total", labels: ["scope": scope],
                            value: PrometheusText.format(MicroUSD(v.micro).usd))
    }

    PrometheusText.header(&out, name: "switchboard_upstream_latency_seconds", type: "histogram",
                          help: "Latency of upstream attempts that were sent, by provider and model.")
    for (k, h) in s.upstreamLatency.sorted(by: { ($0.key.provider, $0.key.model) < ($1.key.provider, $1.key.model) }) {
      Self.renderHistogram(&out, name: "switchboard_upstream_latency_seconds",
                           labels: [("provider", k.provider), ("model", k.model)], h, bounds: Self.upstreamLatencyBuckets)
    }

    PrometheusText.header(&out, name: "switchboard_overhead_seconds", type: "histogram",
                          help: "Time the sidecar itself spent per request, upstream time excluded.")
    Self.renderHistogram(&out, name: "switchboard_overhead_seconds", labels: [], s.overhead, bounds: Self.overheadBuckets)

    PrometheusText.header(&out, name: "switchboard_in_flight", type: "gauge", help: "Requests being served now.")
    PrometheusText.sample(&out, name: "switchboard_in_flight", labels: [], value: String(inFlight.load(ordering: .relaxed)))

    PrometheusText.header(&out, name: "switchboard_frames_rejected_total", type: "counter",
                          help: "Frames the socket server refused, by reason.")
    for (reason, v) in s.framesRejected.sorted(by: { $0.key < $1.key }) {
      PrometheusText.sample(&out, name: "switchboard_frames_rejected_total", labels: ["reason": reason], value: String(v))
    }

    PrometheusText.header(&out, name: "switchboard_audit_write_failures_total", type: "counter",
                          help: "Decision events the audit store failed to write.")
    PrometheusText.sample(&out, name: "switchboard_audit_write_failures_total", labels: [],
                          value: String(auditWriteFailures.load(ordering: .relaxed)))

    PrometheusText.header(&out, name: "switchboard_config_reloads_total", type: "counter",
                          help: "Configuration reloads (SIGHUP or admin), by result.")
    for (applied, label) in [(true, "applied"), (false, "rejected")] {
      PrometheusText.sample(&out, name: "switchboard_config_reloads_total", labels: ["result": label],
                            value: String(s.reloads[applied] ?? 0))
    }
    return out
  }

  private static func renderHistogram(_ out: inout String, name: String, labels: [(key: String, value: String)],
                                      _ h: HistogramState, bounds: [Double]) {
    var cumulative: UInt64 = 0
    for (i, bound) in bounds.enumerated() {
      cumulative += h.counts[i]
      PrometheusText.sample(&out, name: name + "_bucket", labels: labels + [("le", PrometheusText.format(bound))],
                            value: String(cumulative))
    }
    cumulative += h.counts[bounds.count]
    PrometheusText.sample(&out, name: name + "_bucket", labels: labels + [("le", "+Inf")], value: String(cumulative))
    PrometheusText.sample(&out, name: name + "_sum", labels: labels, value: PrometheusText.format(h.sum))
    PrometheusText.sample(&out, name: name + "_count", labels: labels, value: String(h.count))
  }
}
