/// What kind of failure an attempt ended in; decides retry, fail over and circuits.
public enum FailureClass: String, Codable, Hashable, Sendable {
  /// Timeouts, resets, 5xx, 429, stream stalls and cuts: retry once when cheap,
  /// else fail over; counts towards the circuit breaker.
  case transient
  /// Bad key, unknown model, exhausted quota: rotate the key or fail over; benches
  /// the key or candidate.
  case hard
  /// The request itself is the problem (invalid request, content policy, context
  /// length, invalid output): no retry of the same model; never trips a breaker.
  case semantic
}

/// A stable, machine-readable reason for a failure or a rejection; fit for a
/// metric label or an audit column. New codes can be added without breaking callers.
public struct ReasonCode: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
  /// The code's text, e.g. `rate_limited`.
  public let rawValue: String
  /// Wraps a code text.
  public init(_ rawValue: String) { self.rawValue = rawValue }
  public init(stringLiteral value: String) { self.rawValue = value }
  public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer(); try c.encode(rawValue)
  }
  public var description: String { rawValue }

  // Attempt failures.
  public static let timeout: ReasonCode = "timeout"
  public static let connectFailed: ReasonCode = "connect_failed"
  public static let connectionReset: ReasonCode = "connection_reset"
  public static let provider5xx: ReasonCode = "provider_5xx"
  public static let rateLimited: ReasonCode = "rate_limited"
  public static let streamCut: ReasonCode = "stream_cut"
  public static let streamStalled: ReasonCode = "stream_stalled"
  public static let firstTokenTimeout: ReasonCode = "first_token_timeout"
  public static let invalidCredentials: ReasonCode = "invalid_credentials"
  public static let modelNotFound: ReasonCode = "model_not_found"
  public static let quotaExhausted: ReasonCode = "quota_exhausted"
  public static let contextLengthExceeded: ReasonCode = "context_length_exceeded"
  public static let contentPolicy: ReasonCode = "content_policy"
  public static let invalidRequest: ReasonCode = "invalid_request"
  public static let invalidResponse: ReasonCode = "invalid_response"
  public static let budgetViolation: ReasonCode = "budget_violation"
  public static let deadlineExceeded: ReasonCode = "deadline_exceeded"
  public static let prefillRejected: ReasonCode = "prefill_rejected"
  public static let missingKey: ReasonCode = "missing_key"
  public static let cancelled: ReasonCode = "cancelled"
  /// The fleet's shared state (PostgreSQL) is unreachable and the fleet fails closed.
  public static let sharedStateUnavailable: ReasonCode = "shared_state_unavailable"

  // Planner rejections.
  public static let capabilityMissing: ReasonCode = "capability_missing"
  public static let contextTooSmall: ReasonCode = "context_too_small"
  public static let overCostCap: ReasonCode = "over_cost_cap"
  public static let overLatencySLA: ReasonCode = "over_latency_sla"
  public static let circuitOpen: ReasonCode = "circuit_open"
  public static let budgetExhausted: ReasonCode = "budget_exhausted"
  public static let priceUnknown: ReasonCode = "price_unknown"
  public static let unknownModel: ReasonCode = "unknown_model"
  public static let unknownProvider: ReasonCode = "unknown_provider"
  public static let excluded: ReasonCode = "excluded"
  public static let notTried: ReasonCode = "not_tried"
  public static let strategyBlocked: ReasonCode = "strategy_blocked"

  // Request-level outcomes.
  public static let unknownRoute: ReasonCode = "unknown_route"
  public static let noEligibleCandidate: ReasonCode = "no_eligible_candidate"
  public static let attemptsExhausted: ReasonCode = "attempts_exhausted"
  public static let overloaded: ReasonCode = "overloaded"

  /// The failure class of an attempt failure with this code.
  public var failureClass: FailureClass {
    switch self {
    case .invalidCredentials, .modelNotFound, .quotaExhausted, .missingKey: return .hard
    case .contextLengthExceeded, .contentPolicy, .invalidRequest, .invalidResponse, .prefillRejected,
      .budgetViolation:
      return .semantic
    default: return .transient
    }
  }
}

/// The error a provider adapter throws when an attempt fails.
public struct ProviderFailure: Error, Hashable, Sendable, CustomStringConvertible {
  /// Why it failed.
  public var reason: ReasonCode
  /// The HTTP status, when there was one.
  public var httpStatus: Int?
  /// The provider asked us to wait at least this long (Retry-After).
  public var retryAfter: Duration?
  /// A short human-readable message; never contains a secret.
  public var message: String
  /// Whether response headers (or a streamed byte) had arrived before it failed.
  public var afterHeaders: Bool
  /// Whether the attempt was silent (no byte at all before it timed out).
  public var silent: Bool
  /// Token usage the provider reported before the attempt failed (e.g. a usage
  /// frame before a stream was cut); what the ledger charges when present.
  public var usage: Usage? = nil
  /// Whether the attempt never left the daemon: it waited for one of the daemon's
  /// own connections to the provider until its time ran out. The router fails over
  /// as for any transient failure but blames no one for it: the circuit, the retry
  /// budget and the latency statistics do not count it.
  public var local = false

  /// Creates a failure.
  public init(_ reason: ReasonCode, httpStatus: Int? = nil, retryAfter: Duration? = nil, message: String = "",
              afterHeaders: Bool = false, silent: Bool = false) {
    self.reason = reason; self.httpStatus = httpStatus; self.retryAfter = retryAfter
    self.message = message; self.afterHeaders = afterHeaders; self.silent = silent
  }

  /// The failure class of `reason`.
  public var failureClass: FailureClass { reason.failureClass }

  public var description: String {
    var s = "\(reason.rawValue)"
    if let httpStatus { s += " (HTTP \(httpStatus))" }
    if !message.isEmpty { s += ": \(message)" }
    return s
  }
}
