import SwitchboardCore

/// Label set of `switchboard_requests_total`.
struct RequestSeries: Hashable, Sendable {
  var route: String
  var outcome: DecisionEvent.Outcome
}

/// Label set of `switchboard_attempts_total`.
struct AttemptSeries: Hashable, Sendable {
  var provider: String
  var model: String
  var outcome: AttemptRecord.Outcome
  var failureClass: FailureClass?
  var reason: ReasonCode?
  /// The client cancelled during this attempt: counted as `outcome="cancelled"`,
  /// not as a provider failure.
  var cancelled = false
}

/// Label set of per-candidate series (`switchboard_upstream_latency_seconds`).
struct CandidateSeries: Hashable, Sendable {
  var provider: String
  var model: String
}

/// Label set of the token and spend counters: who consumed what, where.
struct UsageSeries: Hashable, Sendable {
  var route: String
  var provider: String
  var model: String
  var tenant: String
}

/// Token and spend totals of one `UsageSeries`.
struct UsageCounters: Sendable {
  var inputTokens: UInt64 = 0
  var outputTokens: UInt64 = 0
  var cachedInputTokens: UInt64 = 0
  /// What the ledger charged, in micro-USD (failed and cut attempts included).
  var spendMicroUSD: Int64 = 0

  mutating func add(_ u: Usage, spendMicroUSD spend: Int64) {
    inputTokens &+= UInt64(max(0, u.inputTokens))
    outputTokens &+= UInt64(max(0, u.outputTokens))
    cachedInputTokens &+= UInt64(max(0, u.cachedInputTokens))
    spendMicroUSD &+= spend
  }
}

/// Label set of `switchboard_time_to_first_token_seconds`.
struct RouteCandidateSeries: Hashable, Sendable {
  var route: String
  var provider: String
  var model: String
}

/// A fixed-bucket histogram; counts are per bucket (not cumulative), the last slot is +Inf.
struct HistogramState: Sendable {
  var counts: [UInt64]
  var sum = 0.0
  var count: UInt64 = 0

  init(bucketCount: Int) { counts = Array(repeating: 0, count: bucketCount + 1) }

  mutating func observe(_ v: Double, bounds: [Double]) {
    guard !v.isNaN else { return }
    var i = 0
    while i < bounds.count, v > bounds[i] { i += 1 }
    counts[i] += 1
    sum += v
    count += 1
  }
}

/// Everything the registry counts, behind one lock.
///
/// The per-request series (requests, durations, attempts, upstream latency, usage,
/// time to first token) are stored as values in arrays, each found through its
/// label set's slot; `SwitchboardMetrics.record` reaches those slots through the
/// small caches of resolved handles (`MetricsState+Handles.swift`), so a request
/// whose labels were seen recently hashes no label text. The dictionaries the
/// exposition reads (`requests`, `attempts`, ...) are built from slots and values
/// when rendering.
struct MetricsState: Sendable {
  var requestSlots: [RequestSeries: Int] = [:]
  var requestCounts: [UInt64] = []
  var attemptSlots: [AttemptSeries: Int] = [:]
  var attemptCounts: [UInt64] = []
  var upstreamLatencySlots: [CandidateSeries: Int] = [:]
  var upstreamLatencyValues: [HistogramState] = []
  var overhead: HistogramState
  var softExceeded: [String: UInt64]
  /// Overage per ledger account (`scope@window`): how many settles went over their reservation, and by how much.
  var overages: [String: (count: UInt64, micro: Int64)] = [:]
  var framesRejected: [String: UInt64]
  var reloads: [Bool: UInt64] = [:]
  /// Token and spend counters.
  var usageSlots: [UsageSeries: Int] = [:]
  var usageValues: [UsageCounters] = []
  /// Time to first token of streamed attempts.
  var firstTokenSlots: [RouteCandidateSeries: Int] = [:]
  var firstTokenValues: [HistogramState] = []
  /// End-to-end duration per route.
  var requestDurationSlots: [String: Int] = [:]
  var requestDurationValues: [HistogramState] = []
  /// The label domain (nil: every value is its own label, as in unit tests).
  var domain: SwitchboardMetrics.LabelDomain? {
    didSet { forgetHandles() }
  }
  /// Tenants outside the configured ones that got a label of their own (first come).
  var dynamicTenants: Set<String> = []
  /// Recently resolved requests and attempts (bounded; see `MetricsState+Handles.swift`).
  var requestHandles: [RequestHandle] = []
  var attemptHandles: [AttemptHandle] = []
  var nextRequestHandle = 0
  var nextAttemptHandle = 0

  init(upstreamBucketCount: Int, overheadBucketCount: Int) {
    requestSlots.reserveCapacity(64)
    attemptSlots.reserveCapacity(256)
    upstreamLatencySlots.reserveCapacity(64)
    softExceeded = [:]; softExceeded.reserveCapacity(16)
    framesRejected = [:]; framesRejected.reserveCapacity(8)
    usageSlots.reserveCapacity(256)
    firstTokenSlots.reserveCapacity(64)
    requestDurationSlots.reserveCapacity(32)
    overhead = HistogramState(bucketCount: overheadBucketCount)
  }

  /// `switchboard_requests_total` by label set.
  var requests: [RequestSeries: UInt64] { requestSlots.mapValues { requestCounts[$0] } }
  /// `switchboard_attempts_total` by label set.
  var attempts: [AttemptSeries: UInt64] { attemptSlots.mapValues { attemptCounts[$0] } }
  /// `switchboard_upstream_latency_seconds` by label set.
  var upstreamLatency: [CandidateSeries: HistogramState] { upstreamLatencySlots.mapValues { upstreamLatencyValues[$0] } }
  /// The token and spend counters by label set.
  var usage: [UsageSeries: UsageCounters] { usageSlots.mapValues { usageValues[$0] } }
  /// `switchboard_time_to_first_token_seconds` by label set.
  var firstToken: [RouteCandidateSeries: HistogramState] { firstTokenSlots.mapValues { firstTokenValues[$0] } }
  /// `switchboard_request_duration_seconds` by route label.
  var requestDuration: [String: HistogramState] { requestDurationSlots.mapValues { requestDurationValues[$0] } }

  /// The slot of `key`'s series, created (with `make()`) when new.
  static func slot<K: Hashable, V>(_ key: K, _ slots: inout [K: Int], _ values: inout [V], _ make: () -> V) -> Int {
    if let i = slots[key] { return i }
    values.append(make())
    slots[key] = values.count - 1
    return values.count - 1
  }
}
