/// What `strategy: tiered` decided for one request, in its decision event: the
/// tier, whether a rule, the router or the fallback chose it and why, and the
/// router call's attempts with their latency and cost (charged to the request's
/// budgets and included in the event's total spend).
public struct TierDecisionRecord: Codable, Hashable, Sendable {
  /// Who chose the tier.
  public enum Source: String, Codable, Sendable {
    /// A rule matched.
    case rule
    /// The router model answered a valid tier.
    case router
    /// The rules were ambiguous and the router gave no usable answer: `default_tier`.
    case `default`
  }
  /// The tier the request ran on.
  public var tier: String
  public var source: Source
  /// `rule`, `router`, or why the default tier was taken: `router_timeout`,
  /// `router_error`, `router_invalid`, `router_circuit_open`, `router_budget`,
  /// `router_cancelled`, `no_router`.
  public var reason: ReasonCode
  /// The rule that matched (its name, `rules[N]` by default).
  public var rule: String? = nil
  /// Which of its conditions held (never the request's text).
  public var ruleDetail: String? = nil
  /// The tier the router answered, when it answered a valid one.
  public var routerTier: String? = nil
  /// The router model's reason (sanitised, at most 200 characters), or why its
  /// answer was not used.
  public var routerReason: String? = nil
  /// Each router call made (one per router candidate tried), with key
  /// fingerprint, latency, usage, reservation and charge.
  public var routerAttempts: [AttemptRecord] = []
  /// Wall time of the router step (0 when the rules decided).
  public var routerLatencyMs: Double = 0
  /// What the router calls were charged, in micro-USD.
  public var routerCostMicroUSD: Int64 = 0
  /// Router endpoints that failed in this request and were therefore left out of
  /// the chosen tier's candidates (request-scoped exclusion).
  public var excluded: [String] = []

  /// Creates a record.
  public init(tier: String, source: Source, reason: ReasonCode) {
    self.tier = tier; self.source = source; self.reason = reason
  }
}
