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
struct MetricsState: Sendable {
  var requests: [RequestSeries: UInt64]
  var attempts: [AttemptSeries: UInt64]
  var upstreamLatency: [CandidateSeries: HistogramState]
  var overhead: HistogramState
  var softExceeded: [String: UInt64]
  /// Overage per ledger account (`scope@window`): how many settles went over their reservation, and by how much.
  var overages: [String: (count: UInt64, micro: Int64)] = [:]
  var framesRejected: [String: UInt64]
  var reloads: [Bool: UInt64] = [:]
  /// Token and spend counters.
  var usage: [UsageSeries: UsageCounters] = [:]
  /// Time to first token of streamed attempts.
  var firstToken: [RouteCandidateSeries: HistogramState] = [:]
  /// End-to-end duration per route.
  var requestDuration: [String: HistogramState] = [:]
  /// The label domain (nil: every value is its own label, as in unit tests).
  var domain: SwitchboardMetrics.LabelDomain?
  /// Tenants outside the configured ones that got a label of their own (first come).
  var dynamicTenants: Set<String> = []

  init(upstreamBucketCount: Int, overheadBucketCount: Int) {
    requests = [:]; requests.reserveCapacity(64)
    attempts = [:]; attempts.reserveCapacity(256)
    upstreamLatency = [:]; upstreamLatency.reserveCapacity(64)
    softExceeded = [:]; softExceeded.reserveCapacity(16)
    framesRejected = [:]; framesRejected.reserveCapacity(8)
    usage.reserveCapacity(256)
    firstToken.reserveCapacity(64)
    requestDuration.reserveCapacity(32)
    overhead = HistogramState(bucketCount: overheadBucketCount)
  }
}
