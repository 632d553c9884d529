import Foundation
import Synchronization
import SwitchboardCore
import SwitchboardWire

/// The daemon's Prometheus registry: a small, fixed set of families, counted exactly.
///
/// Counters and histograms live behind one `Mutex` taken once per `record` call;
/// circuit and budget gauges are not stored here but read from their owners'
/// snapshots at scrape time (`render`), so they can never drift from the truth;
/// process metrics are read from `/proc` at scrape time too. Label values are kept
/// as typed keys on the hot path and only turned into text when rendering.
///
/// Families (label names are fixed; docs/operations.md has the table, checked
/// against a real scrape by `deploy/tests/test_metrics_surface.py`):
/// - `switchboard_requests_total{route,outcome}` (counter)
/// - `switchboard_request_duration_seconds{route}` (histogram: end to end, as the caller saw it)
/// - `switchboard_attempts_total{provider,model,outcome,failure_class,reason}` (counter)
/// - `switchboard_input_tokens_total`, `switchboard_output_tokens_total`,
///   `switchboard_cached_input_tokens_total`, `switchboard_spend_usd_total`
///   `{route,provider,model,tenant}` (counters, per attempt; spend is what the ledger charged)
/// - `switchboard_time_to_first_token_seconds{route,provider,model}` (histogram, streamed attempts)
/// - `switchboard_circuit_state{provider,model,key}` (gauge: 0 closed, 1 half-open, 2 open)
/// - `switchboard_budget_spent_usd{scope,window}` (gauge)
/// - `switchboard_budget_remaining_usd{scope,window}` (gauge, only scopes with a hard cap)
/// - `switchboard_budget_soft_exceeded_total{scope}` (counter)
/// - `switchboard_budget_overage_total{scope}` (counter: settles above their reservation)
/// - `switchboard_budget_overage_usd_total{scope}` (counter: by how much, USD)
/// - `switchboard_upstream_latency_seconds{provider,model}` (histogram)
/// - `switchboard_overhead_seconds` (histogram)
/// - `switchboard_in_flight` (gauge), `switchboard_http_in_flight` (gauge)
/// - `switchboard_frames_rejected_total{reason}` (counter)
/// - `switchboard_audit_write_failures_total` (counter)
/// - `switchboard_config_reloads_total{result}` (counter: applied, rejected)
/// - `switchboard_build_info{version,swift_version,os}` (gauge, always 1)
/// - `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
///   `process_max_fds`, `process_cpu_seconds_total`, `process_start_time_seconds` (Linux)
///
/// Label values are bounded: a provider or model the config does not know (a
/// client can name any in a request) is counted as `_other`, as is a soft-cap or
/// overage scope beyond the first `maxScopeLabels` and a tenant the config does not name
/// beyond the first `maxDynamicTenantLabels`; a route the config does not have is
/// `_unknown` (unknown route) or `_direct` (an explicit `provider/model` request).
public final class SwitchboardMetrics: Sendable {
  /// What the config names: the only provider, model, route and tenant label values used
  /// (besides the first `maxDynamicTenantLabels` unconfigured tenants).
  public struct LabelDomain: Sendable {
    /// Configured providers.
    public var providers: Set<String> = []
    /// Configured provider/model pairs (catalog overrides and route candidates).
    public var candidates: Set<CandidateRef> = []
    /// Configured routes.
    public var routes: Set<String> = []
    /// Configured tenants.
    public var tenants: Set<String> = []
    /// Creates a domain.
    public init(providers: Set<String> = [], candidates: Set<CandidateRef> = [], routes: Set<String> = [],
                tenants: Set<String> = []) {
      self.providers = providers; self.candidates = candidates; self.routes = routes; self.tenants = tenants
    }
    /// Everything a configuration names.
    public init(_ c: DaemonConfiguration) {
      providers = Set(c.providers.keys)
      candidates = Set(c.models.keys).union(c.routes.values.flatMap { $0.candidates.map(\.ref) })
      routes = Set(c.routes.keys)
      tenants = Set(c.budgets.tenants.tenants.keys)
    }
  }
  /// The label value of everything outside the domain.
  public static let otherLabel = "_other"
  /// Distinct budget scopes counted by name before the rest fold into `_other`.
  public static let maxScopeLabels = 256
  /// Tenants the config does not name (`uid:N`, unmapped tokens, in-process callers)
  /// that get a label of their own, first come; the rest fold into `_other`.
  public static let maxDynamicTenantLabels = 32
  /// Upper bounds of `switchboard_upstream_latency_seconds`, in seconds.
  public static let upstreamLatencyBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
  /// Upper bounds of `switchboard_overhead_seconds`, in seconds.
  public static let overheadBuckets: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]
  /// Upper bounds of `switchboard_time_to_first_token_seconds`, in seconds.
  public static let firstTokenBuckets: [Double] = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30]
  /// Upper bounds of `switchboard_request_duration_seconds`, in seconds.
  public static let requestDurationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
  /// The prefix of a decision event's warning that reports a soft budget crossed; the scope follows it.
  public static let softBudgetWarningPrefix = "soft_budget_exceeded:"
  /// The `route` label of requests that named a route the config does not have. The
  /// requested name is client-chosen, so it is not used as a label (unbounded cardinality).
  public static let unknownRouteLabel = "_unknown"
  /// The `route` label of explicit `provider/model` requests (their synthetic route
  /// name is client-chosen).
  public static let directRouteLabel = "_direct"

  let state: Mutex<MetricsState>
  let inFlight = Atomic<Int>(0)
  let httpInFlightCount = Atomic<Int>(0)
  let auditWriteFailures = Atomic<UInt64>(0)
  /// `switchboard_build_info`'s labels.
  let buildLabels: [(key: String, value: String)]

  /// Creates an empty registry.
  ///
  /// - Parameter version: The `version` label of `switchboard_build_info`.
  public init(version: String = SwitchboardVersion.current) {
    state = Mutex(MetricsState(upstreamBucketCount: Self.upstreamLatencyBuckets.count,
                               overheadBucketCount: Self.overheadBuckets.count))
    buildLabels = [("version", version), ("swift_version", Self.swiftVersion), ("os", Self.osName)]
  }

  /// Counts one finished request: its outcome and end-to-end duration, every attempt
  /// (skipped ones with `outcome="skipped"`), the upstream latency, tokens, spend and
  /// time to first token of every attempt that was sent, soft budget crossings
  /// reported in `event.warnings`, and the sidecar's own time.
  ///
  /// One lock, no label text built: label values are the event's own strings (or a
  /// static fold value). A request whose route, tenant and candidates were seen
  /// recently reuses their resolved series (no hashing); otherwise they are
  /// resolved into typed keys once. A series allocates only when it is new.
  ///
  /// - Parameters:
  ///   - event: The request's decision event.
  ///   - overhead: Time the sidecar itself spent on the request (excluding upstream time).
  public func record(_ event: DecisionEvent, overhead: Duration) {
    let overheadSeconds = overhead.secondsDouble
    state.withLock { s in
      // Labels and series slots come from the handle caches: a combination seen
      // recently is found by comparing strings, not by hashing them (MetricsState+Handles).
      let r = s.requestHandle(event)
      s.requestCounts[r.requestSlot] += 1
      s.requestDurationValues[r.durationSlot].observe(max(0, event.totalLatencyMs) / 1000, bounds: Self.requestDurationBuckets)
      for a in event.attempts {
        let h = s.attemptHandle(a, of: r)
        let attemptSlot = s.attemptHandles[h].attemptSlot
        s.attemptCounts[attemptSlot] += 1
        guard a.outcome != .skipped else { continue }
        let latencySlot = s.latencySlot(h)
        s.upstreamLatencyValues[latencySlot].observe(max(0, a.latencyMs) / 1000, bounds: Self.upstreamLatencyBuckets)
        let spend = a.chargedMicroUSD ?? a.costUSD.map { MicroUSD(usd: $0).value } ?? 0
        let u = a.usage
        if u.inputTokens != 0 || u.outputTokens != 0 || u.cachedInputTokens != 0 || spend != 0 {
          let usageSlot = s.usageSlot(h, r)
          s.usageValues[usageSlot].add(u, spendMicroUSD: spend)
        }
        if let ttft = a.firstTokenMs {
          let firstTokenSlot = s.firstTokenSlot(h, r)
          s.firstTokenValues[firstTokenSlot].observe(max(0, ttft) / 1000, bounds: Self.firstTokenBuckets)
        }
        if let o = a.overageMicroUSD, o > 0 {
          for var scope in a.chargedScopes ?? [] {
            // Scopes can name sub-tenants a client chose (allow_asserted): bounded like soft-cap scopes.
            if s.overages[scope] == nil && s.overages.count >= Self.maxScopeLabels { scope = Self.otherLabel }
            let prev = s.overages[scope] ?? (0, 0)
            s.overages[scope] = (prev.count + 1, prev.micro &+ o)
          }
        }
      }
      for w in event.warnings where w.hasPrefix(Self.softBudgetWarningPrefix) {
        var scope = String(w.dropFirst(Self.softBudgetWarningPrefix.count))
        if s.softExceeded[scope] == nil && s.softExceeded.count >= Self.maxScopeLabels { scope = Self.otherLabel }
        s.softExceeded[scope, default: 0] += 1
      }
      s.overhead.observe(max(0, overheadSeconds), bounds: Self.overheadBuckets)
    }
  }

  /// Sets the label domain (at start and on every reload).
  public func setLabelDomain(_ d: LabelDomain) {
    var d = d
    d.candidates = d.candidates.filter { d.providers.contains($0.provider) }  // what `record` relies on
    state.withLock { $0.domain = d }
  }

  /// Counts a reload attempt.
  public func reloaded(applied: Bool) { state.withLock { $0.reloads[applied, default: 0] += 1 } }

  /// Sets `switchboard_in_flight`, the number of requests being served now.
  public func setInFlight(_ count: Int) {
    inFlight.store(count, ordering: .relaxed)
  }

  /// Counts a request entering (`+1`) or leaving (`-1`) the HTTP endpoint (`switchboard_http_in_flight`).
  public func httpInFlight(_ delta: Int) {
    httpInFlightCount.add(delta, ordering: .relaxed)
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
}
