import Foundation
import Synchronization

/// How the planner judged one candidate.
public struct CandidateEvaluation: Codable, Hashable, Sendable {
  public var provider: String
  public var model: String
  public var eligible: Bool
  /// Reason code when rejected.
  public var rejection: ReasonCode?
  /// The strategy's score, when it computes one.
  public var score: Double?
  public var worstCaseCostUSD: Double?
  /// The worst case (the reservation an attempt would make) in micro-USD.
  public var worstCaseMicroUSD: Int64? = nil
  /// 1-based rank among eligible candidates (0 when rejected).
  public var rank: Int
  /// Human detail, e.g. "needs 9000 tokens, window 8192".
  public var detail: String
  /// Creates an evaluation.
  public init(provider: String, model: String, eligible: Bool, rejection: ReasonCode? = nil, score: Double? = nil,
              worstCaseCostUSD: Double? = nil, rank: Int = 0, detail: String = "", worstCase: MicroUSD? = nil) {
    self.provider = provider; self.model = model; self.eligible = eligible; self.rejection = rejection
    self.score = score; self.rank = rank; self.detail = detail
    let w = worstCase ?? worstCaseCostUSD.map { MicroUSD(usd: $0) }
    self.worstCaseMicroUSD = w?.value
    self.worstCaseCostUSD = w?.usd ?? worstCaseCostUSD
  }
}

/// One attempt of a request.
public struct AttemptRecord: Codable, Hashable, Sendable {
  /// success | failed | skipped
  public enum Outcome: String, Codable, Sendable { case success, failed, skipped }
  public var index: Int
  public var provider: String
  public var model: String
  public var keySource: KeySource
  /// Fingerprint of the key used; never the key.
  public var keyFingerprint: String
  public var startedOffsetMs: Double
  public var latencyMs: Double
  public var firstTokenMs: Double?
  public var outcome: Outcome
  public var failureClass: FailureClass?
  public var reason: ReasonCode?
  public var httpStatus: Int?
  public var usage: Usage
  /// Input tokens the planner estimated.
  public var estimatedInputTokens: Int
  public var costUSD: Double?
  public var message: String
  /// Whether this retried the previous attempt's candidate.
  public var sameCandidateRetry: Bool
  /// Whether this attempt was a half-open circuit probe.
  public var probe: Bool
  /// The Retry-After the provider sent with a failure, in milliseconds.
  public var retryAfterMs: Double? = nil
  /// What the attempt reserved before it started (micro-USD).
  public var reservedMicroUSD: Int64? = nil
  /// What the ledger charged for it when it settled (micro-USD); failed and cut attempts included.
  public var chargedMicroUSD: Int64? = nil
  /// How far the charge went over the reservation (micro-USD), when it did.
  public var overageMicroUSD: Int64? = nil
  /// The ledger accounts (`scope@window`) the charge went to.
  public var chargedScopes: [String]? = nil
  /// Which of the daemon's timeouts ended the attempt, by its route key
  /// (`connect_ms`, `first_token_ms`, `idle_ms`, `attempt_ms`, `deadline_ms`); nil
  /// when none did (a provider's own 408 is not one of ours). See ``FiredTimeout``.
  public var timeoutFired: String? = nil
  /// The limit of ``timeoutFired``, in milliseconds.
  public var timeoutLimitMs: Double? = nil
  /// Whether this attempt was started as a hedge, in parallel to a running attempt
  /// (a refused hedge is a `skipped` record with this set and the refusal's reason).
  public var hedge: Bool? = nil
  /// Whether this attempt lost a hedge race: cancelled because another attempt
  /// delivered its first token first (not a provider failure; settled for what it consumed).
  public var hedgeLost: Bool? = nil
  /// For a hedge: the index of the attempt it hedged.
  public var hedgeOf: Int? = nil
}

/// The one explainable record of a request, success or failure.
public struct DecisionEvent: Codable, Hashable, Sendable {
  /// success | failed | cancelled
  public enum Outcome: String, Codable, Sendable { case success, failed, cancelled }
  public var requestID: String
  public var timestampMs: Int64
  public var tenant: String
  public var route: String
  public var strategy: String
  public var stream: Bool
  public var peerUID: UInt32?
  public var outcome: Outcome
  /// Terminal status when the request failed.
  public var statusCode: RoutingStatusCode?
  public var reason: ReasonCode?
  public var message: String
  public var candidates: [CandidateEvaluation]
  public var attempts: [AttemptRecord]
  public var chosenProvider: String?
  public var chosenModel: String?
  public var baselineProvider: String?
  public var baselineModel: String?
  /// Cost of the answer that was served.
  public var costUSD: Double?
  /// What the same usage would have cost on the baseline.
  public var baselineCostUSD: Double?
  /// cost - baseline cost.
  public var costDeltaUSD: Double?
  /// Everything spent on this request, failed attempts included (what the ledger charged).
  public var totalSpendUSD: Double
  /// Budget scopes the spend was charged to.
  public var budgetScopes: [String]
  public var usage: Usage
  public var totalLatencyMs: Double
  public var warnings: [String]
  /// The id the client sent, kept for correlation (searchable); never the row key.
  public var correlationID: String? = nil
  /// The sub-tenant the client named, when its tenant allows it (charged to both).
  public var subTenant: String? = nil
  /// Everything spent on this request, in micro-USD (the exact ledger figure).
  public var totalSpendMicroUSD: Int64? = nil
  /// Cost of the answer that was served, in micro-USD.
  public var costMicroUSD: Int64? = nil
  /// The caps that applied and their headroom at planning time.
  public var caps: [BudgetCapRecord]? = nil
  /// Sum of the attempts' overages (micro-USD), when any attempt cost more than it reserved.
  public var overageMicroUSD: Int64? = nil
  /// `strategy: tiered`: the tier chosen, by which rule or router answer, and the
  /// router call's attempts and cost (nil for other strategies).
  public var tier: TierDecisionRecord? = nil
  /// The request's tags (``RequestTags`` bounds them); nil when it sent none.
  public var tags: [String: String]? = nil
  /// The per-request worst-case cost cap that applied (the tighter of the request's
  /// and the route's `constraints.max_cost_usd`), when one did.
  public var costCapUSD: Double? = nil
  /// The latency SLA that applied (the tighter of the request's and the route's), in milliseconds.
  public var latencySLAMs: Double? = nil

  /// Attempts that reached a provider (failed, succeeded or cancelled), skips excluded.
  public var attemptsMade: Int { attempts.lazy.filter { $0.outcome != .skipped }.count }
  /// Candidates or keys passed over without a call (circuit open, budget, missing key, ...).
  public var attemptsSkipped: Int { attempts.lazy.filter { $0.outcome == .skipped }.count }

  /// What the served answer cost relative to what the baseline would have cost for
  /// the same usage (`15.3` = 15.3× the baseline); nil unless both are known and the
  /// baseline's cost is positive.
  public var costRatioToBaseline: Double? {
    guard let c = costUSD, let b = baselineCostUSD, c.isFinite, b.isFinite, b > 0 else { return nil }
    return c / b
  }
  /// Which store answered the budget reservations (`postgres`, `local`, `local_fallback`); nil when none was asked.
  public var stateBackend: String? = nil
  /// What hedging did for this request, when its route hedges and a hedge delay passed.
  public var hedge: HedgeRecord? = nil
  /// The W3C trace id (32 lowercase hex digits) of the request's trace; nil when
  /// the request was not traced (tracing off and no valid `traceparent`).
  public var traceID: String? = nil

  /// A one-line summary for the response and logs.
  public var summary: String {
    var parts = ["route=\(route)", "outcome=\(outcome.rawValue)"]
    if let p = chosenProvider, let m = chosenModel { parts.append("served_by=\(p)/\(m)") }
    parts.append("attempts=\(attemptsMade)")
    let failures = attempts.filter { $0.outcome == .failed && $0.hedgeLost != true }.compactMap { $0.reason?.rawValue }
    if !failures.isEmpty { parts.append("failures=\(failures.joined(separator: ","))") }
    let skips = attempts.filter { $0.outcome == .skipped }.compactMap { $0.reason?.rawValue }
    if !skips.isEmpty { parts.append("skipped=\(skips.count)"); parts.append("skips=\(skips.joined(separator: ","))") }
    if let h = hedge, h.started > 0 { parts.append("hedged=\(h.started) hedge_won=\(h.winnerIsHedge)") }
    if let r = reason, outcome != .success { parts.append("reason=\(r.rawValue)") }
    if let d = costDeltaUSD { parts.append("cost_delta_usd=\(formatUSD(d))") }
    return parts.joined(separator: " ")
  }
}

/// Formats a USD amount with enough digits for per-request costs.
/// Formats a USD amount to at most six decimals, trailing zeros dropped but one kept
/// (`0.00066`, `-0.000012`, `2.0`). Integer arithmetic, not `String(format:)`: this
/// runs for every request's summary line.
public func formatUSD(_ v: Double) -> String {
  guard v.isFinite else { return v.isNaN ? "nan" : (v < 0 ? "-inf" : "inf") }
  let scaled = (v * 1_000_000).rounded()
  guard abs(scaled) < 9e18 else { return String(v) }
  let micros = Int64(scaled)
  let whole = abs(micros) / 1_000_000
  var frac = abs(micros) % 1_000_000
  var digits = 6
  while digits > 1 && frac % 10 == 0 { frac /= 10; digits -= 1 }
  let fracText = String(frac)
  return (micros < 0 ? "-" : "") + String(whole) + "." + String(repeating: "0", count: digits - fracText.count) + fracText
}

/// Where decision events go. The daemon persists them (SQLite); tests keep them in memory.
public protocol AuditSink: Sendable {
  /// Records one event. Returns when the event is as durable as the sink promises
  /// (the SQLite sink: committed, unless configured otherwise).
  func record(_ event: DecisionEvent) async
}

/// Keeps events in memory, newest last.
public final class InMemoryAuditSink: AuditSink {
  private let events = Mutex<[DecisionEvent]>([])
  /// Creates an empty sink.
  public init() {}
  public func record(_ event: DecisionEvent) async { events.withLock { $0.append(event) } }
  /// Every event recorded so far.
  public var all: [DecisionEvent] { events.withLock { $0 } }
  /// The event with `requestID`.
  public func event(_ requestID: String) -> DecisionEvent? { events.withLock { $0.last { $0.requestID == requestID } } }
}
